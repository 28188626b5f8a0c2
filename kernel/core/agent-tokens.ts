import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AgentTokens } from '../api';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * "<instance id>.<HMAC(secret, instance id)>": nothing to store, nothing to leak from the
 * database, and an incoming token says which instance it claims before any body is read.
 */
export class DerivedAgentTokens implements AgentTokens {
  constructor(private readonly secret: string) {}

  tokenFor(instanceId: string): string {
    return `${instanceId}.${this.mac(instanceId)}`;
  }

  verify(instanceId: string, presented: string): boolean {
    const expected = Buffer.from(this.tokenFor(instanceId));
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  identify(presented: string): string | null {
    const id = presented.slice(0, 36);
    return UUID.test(id) && this.verify(id, presented) ? id : null;
  }

  private mac(instanceId: string): string {
    return createHmac('sha256', this.secret).update(`agent:${instanceId}`).digest('base64url');
  }
}
