import { createHmac } from 'node:crypto';
import { call, type Account } from './http';
import { check } from './report';
import type { GameServer } from './game';

/** The agent route refuses anything but the instance's own token (401), and takes that one. */
export async function agentAuthFailsClosed(base: string, agentSecret: string, server: GameServer): Promise<void> {
  const event = { type: 'ready', instanceId: server.id };
  const post = (authorization?: string) => call(base, 'POST', '/api/agent/events', { body: event, headers: authorization ? { authorization } : {} });
  const mac = (secret: string) => createHmac('sha256', secret).update(`agent:${server.id}`).digest('base64url');
  const refused: Array<[string, string | undefined]> = [
    ['no token', undefined],
    ['a forged token', `Bearer ${server.id}.${'A'.repeat(43)}`],
    ['a token made with another secret', `Bearer ${server.id}.${mac('not-the-deployment-secret-not-the-deployment')}`],
    ['a user’s access token shape', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x'],
  ];
  for (const [what, authorization] of refused) {
    const res = await post(authorization);
    check(res.status === 401, `agent auth fails closed: ${what} → 401 (${res.status})`, res.text);
  }
  const own = await post(`Bearer ${server.id}.${mac(agentSecret)}`);
  check(own.status >= 200 && own.status < 300, `the instance's own agent token is accepted (${own.status})`, own.text);
}

/** Another account sees nothing of the server and can do nothing with it (404, as if it did not exist). */
export async function nonOwnerBlocked(stranger: Account, server: GameServer): Promise<void> {
  const calls: Array<[string, () => Promise<{ status: number }>]> = [
    ['see the server', () => stranger.get(`/api/servers/${server.id}`)],
    ['see its status', () => stranger.get(`/api/servers/${server.id}/status`)],
    ['take a console ticket', () => stranger.post(`/api/servers/${server.id}/console/ticket`)],
    ['read its files', () => stranger.get(`/api/servers/${server.id}/files?path=/`)],
    ['power it off', () => stranger.post(`/api/servers/${server.id}/power`, { action: 'stop' })],
    ['back it up', () => stranger.post(`/api/servers/${server.id}/backups`, { name: 'theirs' })],
    ['delete it', () => stranger.delete(`/api/servers/${server.id}`)],
  ];
  for (const [what, run] of calls) {
    const { status } = await run();
    check(status === 404 || status === 403, `a non-owner cannot ${what} (${status})`);
  }
  const listed = await stranger.get('/api/servers');
  check(listed.status === 200 && !JSON.stringify(listed.body).includes(server.id), 'a non-owner’s server list does not hold it');
}
