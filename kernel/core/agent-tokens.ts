import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AgentTokens } from '../api';

/** HMAC(secret, instance id): nothing to store, nothing to leak from the database. */
export class DerivedAgentTokens implements AgentTokens {
  constructor(private readonly secret: string) {}

  tokenFor(instanceId: string): string {
    return createHmac('sha256', this.secret).update(`agent:${instanceId}`).digest('base64url');
  }

  verify(instanceId: string, presented: string): boolean {
    const expected = Buffer.from(this.tokenFor(instanceId));
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
