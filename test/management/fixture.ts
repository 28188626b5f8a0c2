import { expect } from 'chai';
import type { ServerPermission } from '../../kernel/api';
import type { TestKernel, TestUser } from '../harness';

/** Shares `serverId` with a fresh account holding `permissions`, invitation accepted; returns that account. */
export async function subuser(tk: TestKernel, owner: TestUser, serverId: string, permissions: ServerPermission[], email?: string): Promise<TestUser & { subuserId: string }> {
  const guest = await tk.user(email ? { email } : {});
  const invited = await owner.http.post(`/api/servers/${serverId}/subusers`, { email: guest.email, permissions });
  expect(invited.status, invited.text).to.equal(201);
  const accepted = await guest.http.post(`/api/me/invitations/${invited.body.subuser.id}/accept`);
  expect(accepted.status, accepted.text).to.equal(200);
  return { ...guest, subuserId: invited.body.subuser.id };
}

/** A personal API key of `user` with `scopes` (and options); returns its secret. */
export async function apiKey(user: TestUser, scopes: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const res = await user.http.post('/api/me/api-keys', { name: `key ${scopes.join(' ')}`, scopes, ...extra });
  expect(res.status, res.text).to.equal(201);
  return res.body.secret;
}
