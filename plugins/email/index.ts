import { Notifier, definePlugin } from '../../kernel/api';
import { emailConfig } from './config';
import { EmailNotifier } from './notifier';

/** This kernel's notifier, for stop to close its pooled SMTP connections. */
class Mailer {
  constructor(readonly notifier: EmailNotifier) {}
}

export default definePlugin({
  name: 'email',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'Delivers email notifications over SMTP, or into a local outbox folder',
  config: emailConfig,
  register(ctx) {
    const mailer = new Mailer(new EmailNotifier(ctx.config));
    ctx.provide(Mailer, () => mailer);
    ctx.provide(Notifier, () => mailer.notifier);
  },
  async stop(ctx) {
    ctx.resolve(Mailer).notifier.close();
  },
});
