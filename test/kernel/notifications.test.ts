import { expect } from 'chai';
import { z } from 'zod';
import { Notifier, Tokens, definePlugin } from '../../kernel/api';
import type { NotificationAudience, NotificationMessage } from '../../kernel/api';
import { startTestKernel, type TestKernel } from '../harness';
import { waitFor } from '../provisioning/fixture';

class KeepingNotifier extends Notifier {
  readonly messages: NotificationMessage[] = [];
  constructor(readonly channel: string, readonly audiences: readonly NotificationAudience[]) {
    super();
  }
  async send(message: NotificationMessage): Promise<void> {
    this.messages.push(message);
  }
}

const sms = new KeepingNotifier('sms', ['owner']);
const pager = new KeepingNotifier('pager', ['operators']);
const channelPlugin = (notifier: KeepingNotifier) => definePlugin({
  name: notifier.channel,
  version: '1.0.0',
  kernelApi: '2',
  description: `delivers over ${notifier.channel}`,
  config: z.object({}),
  register(ctx) {
    ctx.provide(Notifier, () => notifier);
  },
});

const message = (to: string): NotificationMessage => ({ to, template: 'server_crashed', subject: 'crashed', text: 'it crashed' });

describe('Notifications.sendToOwner', () => {
  describe('with a notifier serving owners and one serving operators', () => {
    let tk: TestKernel;
    before(async () => {
      tk = await startTestKernel({
        plugins: [channelPlugin(sms), channelPlugin(pager)],
        config: { plugins: { sms: { enabled: true, options: {} }, pager: { enabled: true, options: {} } } },
      });
    });
    after(async () => tk?.stop());

    it('delivers over the channel that serves owners, whatever its name, and over no other', async () => {
      await tk.kernel.resolve(Tokens.Notifications).sendToOwner(message('owner@zpack.test'));
      await waitFor(() => sms.messages.length === 1, 'the sms notifier got the message');
      expect(sms.messages[0]).to.include({ to: 'owner@zpack.test', template: 'server_crashed' });
      expect(pager.messages).to.deep.equal([]);
      const rows = await tk.kernel.ds.query(`SELECT channel, recipient FROM notification WHERE recipient = 'owner@zpack.test'`);
      expect(rows).to.deep.equal([{ channel: 'sms', recipient: 'owner@zpack.test' }]);
    });

    it('sends operator notices to the channels serving operators, addressed by topic', async () => {
      const before = sms.messages.length;
      await tk.kernel.resolve(Tokens.Notifications).sendToOperators('ops', { template: 'queue_stale', subject: 'stale', text: 'a queue is stale' });
      await waitFor(() => pager.messages.length === 1, 'the pager notifier got the notice');
      expect(pager.messages[0]).to.include({ to: 'ops', template: 'queue_stale' });
      expect(sms.messages.length).to.equal(before);
    });
  });

  describe('with no notifier serving owners', () => {
    let tk: TestKernel;
    before(async () => {
      tk = await startTestKernel({ plugins: [channelPlugin(pager)], config: { plugins: { pager: { enabled: true, options: {} } } } });
    });
    after(async () => tk?.stop());

    it('keeps the message as undeliverable, saying why', async () => {
      const paged = pager.messages.length;
      await tk.kernel.resolve(Tokens.Notifications).sendToOwner(message('nobody@zpack.test'));
      const rows = await tk.kernel.ds.query(`SELECT channel, state, last_error FROM notification WHERE recipient = 'nobody@zpack.test'`);
      expect(rows).to.deep.equal([{ channel: 'owner', state: 'undeliverable', last_error: 'no enabled notifier serves account owners' }]);
      expect(pager.messages.length).to.equal(paged);
    });
  });

  describe('with no notifier serving operators', () => {
    let tk: TestKernel;
    before(async () => {
      tk = await startTestKernel({ plugins: [channelPlugin(sms)], config: { plugins: { sms: { enabled: true, options: {} } } } });
    });
    after(async () => tk?.stop());

    it('keeps an operator notice as undeliverable, saying why', async () => {
      await tk.kernel.resolve(Tokens.Notifications).sendToOperators('support', { template: 'ticket_opened', subject: 's', text: 't' });
      const rows = await tk.kernel.ds.query(`SELECT channel, recipient, state, last_error FROM notification WHERE template = 'ticket_opened'`);
      expect(rows).to.deep.equal([{ channel: 'operators', recipient: 'support', state: 'undeliverable', last_error: 'no enabled notifier serves operators' }]);
    });
  });
});
