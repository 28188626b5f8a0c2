import { Notifier, definePlugin } from '../../kernel/api';
import { emailConfig } from './config';
import { EmailNotifier } from './notifier';

export default definePlugin({
  name: 'email',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'Delivers email notifications over SMTP, or into a local outbox folder',
  config: emailConfig,
  register(ctx) {
    ctx.provide(Notifier, () => new EmailNotifier(ctx.config));
  },
});
