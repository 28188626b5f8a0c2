import { expect } from 'chai';
import type { Notifier } from '../../api';
import { until } from '../poll';
import { useSubject, type Setup } from './subject';

/** A message as the recipient sees it (decoded from the wire or file the channel uses). */
export interface DeliveredMessage {
  to: string;
  subject: string;
  text: string;
  template: string;
}

export interface NotifierContractSubject {
  notifier: Notifier;
  /** Everything delivered so far, oldest first. */
  delivered(): Promise<DeliveredMessage[]>;
  /** A recipient in the channel's own terms (an address for email). */
  recipient(n: number): string;
}

/**
 * The Notifier port's semantics: each send is delivered once, whole, to its recipient; a channel
 * says which audiences it serves, and one serving account owners takes an account's email address as `to`.
 */
export function describeNotifierContract(name: string, setup: Setup<NotifierContractSubject>): void {
  describe(`${name}: Notifier contract`, () => {
    const env = useSubject(setup);
    const to = (n: number) => env.subject.recipient(n);
    const deliveredTo = (recipient: string, count: number) =>
      until(`${count} message(s) to ${recipient}`, async () => (await env.subject.delivered()).filter((m) => m.to === recipient), (m) => m.length >= count, 10_000);

    it('names its channel', () => {
      expect(env.subject.notifier.channel).to.be.a('string').and.match(/^[a-z][a-z0-9_-]*$/);
    });

    it('names the audiences it serves, each once', () => {
      const { audiences } = env.subject.notifier;
      expect(audiences).to.be.an('array').that.is.not.empty;
      expect(new Set(audiences).size).to.equal(audiences.length);
      for (const audience of audiences) expect(audience).to.be.oneOf(['owner', 'operators']);
    });

    it("delivers to an account's email address when it serves account owners", async function () {
      if (!env.subject.notifier.audiences.includes('owner')) this.skip();
      const owner = 'account-holder@example.test';
      await env.subject.notifier.send({ to: owner, subject: 'Welcome', text: 'Your account is ready.', template: 'welcome' });
      const [message] = await deliveredTo(owner, 1);
      expect(message).to.include({ to: owner, subject: 'Welcome' });
    });

    it('delivers the recipient, subject, text and template of a message', async () => {
      await env.subject.notifier.send({ to: to(1), subject: 'Your server crashed', text: 'It ran out of memory.\nRestart it from the panel.', template: 'server_crashed' });
      const [message] = await deliveredTo(to(1), 1);
      expect(message).to.deep.equal({ to: to(1), subject: 'Your server crashed', text: 'It ran out of memory.\nRestart it from the panel.', template: 'server_crashed' });
    });

    it('keeps non-ASCII subjects and text intact', async () => {
      await env.subject.notifier.send({ to: to(2), subject: 'Zurücksetzen — パスワード', text: 'Grüße, 🌍 = ok', template: 'password_reset' });
      const [message] = await deliveredTo(to(2), 1);
      expect(message).to.include({ subject: 'Zurücksetzen — パスワード', text: 'Grüße, 🌍 = ok' });
    });

    it('delivers each of several identical sends made at once', async () => {
      const message = { to: to(3), subject: 'Again', text: 'same', template: 'welcome' };
      await Promise.all(Array.from({ length: 5 }, () => env.subject.notifier.send(message)));
      expect(await deliveredTo(to(3), 5)).to.have.length(5);
    });
  });
}
