/**
 * What a portal does first, through a client generated from the zpack contract: log in, create a
 * server (with an Idempotency-Key, so a retried click never makes two), wait for it, list servers,
 * read a file and delete the server. No casts: every path, parameter and answer is typed.
 *
 *   ZPACK_URL=http://localhost:3000 ZPACK_EMAIL=… ZPACK_PASSWORD=… node out/src/portal-example.js
 */
import { randomUUID } from 'node:crypto';
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from '../generated/api';

type Operation = components['schemas']['Operation'];

const baseUrl = process.env.ZPACK_URL ?? 'http://localhost:3000';
const email = process.env.ZPACK_EMAIL ?? '';
const password = process.env.ZPACK_PASSWORD ?? '';

const api = createClient<paths>({ baseUrl });

/** Every failure is the same envelope: one place to turn it into an exception. */
function fail(step: string, error: components['schemas']['Error'] | undefined, status: number): never {
  throw new Error(`${step}: ${status} ${error?.error.code ?? ''} ${error?.error.message ?? ''}`);
}

/** Long work answers 202 with an operation; poll it until it leaves queued/running. */
async function settle(operation: Operation): Promise<Operation> {
  let current = operation;
  while (current.state === 'queued' || current.state === 'running') {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { data, error, response } = await api.GET('/api/operations/{id}', { params: { path: { id: current.id } } });
    if (!data) return fail('poll operation', error, response.status);
    current = data;
  }
  if (current.state !== 'succeeded') throw new Error(`operation ${current.id} ended ${current.state}: ${current.error?.message ?? ''}`);
  return current;
}

async function main(): Promise<void> {
  const login = await api.POST('/api/auth/login', { body: { email, password } });
  if (!login.data) return fail('login', login.error, login.response.status);
  const accessToken = login.data.accessToken;
  const bearer: Middleware = {
    onRequest({ request }) {
      request.headers.set('Authorization', `Bearer ${accessToken}`);
      return request;
    },
  };
  api.use(bearer);
  console.log(`logged in as ${login.data.user.email}`);

  const created = await api.POST('/api/instances', {
    params: { header: { 'Idempotency-Key': randomUUID() } },
    body: { kind: 'game', type: 'minecraft', name: 'Portal example', options: { version: '1.21.4', flavor: 'paper', memoryMb: 2048 } },
  });
  if (!created.data) return fail('create', created.error, created.response.status);
  const done = await settle(created.data.operation);
  const serverId = done.instanceId;
  if (!serverId) throw new Error('the create operation names no server');
  console.log(`created server ${serverId}`);

  const listed = await api.GET('/api/servers');
  if (!listed.data) return fail('list', listed.error, listed.response.status);
  const server = listed.data.servers.find((s) => s.id === serverId);
  console.log(`listed ${listed.data.servers.length} server(s); ours is ${server?.state ?? 'missing'}`);

  const file = await api.GET('/api/servers/{id}/files/content', { params: { path: { id: serverId }, query: { path: 'server.properties' } } });
  if (!file.data) return fail('read file', file.error, file.response.status);
  console.log(`read ${file.data.path}: ${file.data.sizeBytes} bytes, first line "${file.data.content.split('\n')[0] ?? ''}"`);

  const deleted = await api.DELETE('/api/servers/{id}', { params: { path: { id: serverId } } });
  if (!deleted.data) return fail('delete', deleted.error, deleted.response.status);
  await settle(deleted.data.operation);
  console.log(`deleted server ${serverId}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
