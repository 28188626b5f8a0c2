import { expect } from 'chai';
import { startTestKernel, type TestKernel } from '../harness';
import { everyPlugin } from './every-plugin';

type Operation = Record<string, any>;

/**
 * Every route of API.md as `METHOD path`, with the success statuses it names ([] where it names
 * none: the route must exist, with some 2xx). The WebSocket routes answer 101.
 */
const API_MD: Array<[string, number[]]> = [
  // Auth and accounts
  ['POST /api/auth/register', [201]], ['POST /api/auth/login', [200]], ['POST /api/auth/refresh', [200]],
  ['POST /api/auth/logout', [204]], ['POST /api/auth/password-reset/request', [202]], ['POST /api/auth/password-reset/confirm', [204]],
  ['GET /api/me', [200]],
  // Instances and operations
  ['POST /api/instances', [202]], ['GET /api/operations/{id}', [200]], ['GET /api/operations', [200]], ['GET /api/operations/{id}/events', [200]],
  ['GET /api/servers', [200]], ['GET /api/servers/{id}', []], ['DELETE /api/servers/{id}', [202]], ['GET /api/servers/{id}/status', [200]],
  ['POST /api/servers/{id}/power', [202]], ['GET /api/servers/{id}/crashes', [200]],
  // Console
  ['POST /api/servers/{id}/console/ticket', []], ['GET /api/servers/{id}/console', [101]],
  // Files, canonical and compatibility
  ...['/api/servers/{id}', '/api/game/servers/{id}'].flatMap((base): Array<[string, number[]]> => [
    [`GET ${base}/files`, []], [`GET ${base}/files/stat`, []], [`GET ${base}/files/content`, []], [`GET ${base}/files/download`, []],
    [`PUT ${base}/files/content`, []], [`POST ${base}/files/revert`, []], [`POST ${base}/files/upload`, []], [`DELETE ${base}/files`, []],
    [`POST ${base}/files/rename`, []], [`POST ${base}/files/copy`, []], [`POST ${base}/files/mkdir`, []],
    [`POST ${base}/files/compress`, []], [`POST ${base}/files/decompress`, []], [`POST ${base}/files/delete`, []],
  ]),
  // Backups
  ['GET /api/servers/{id}/backups', [200]], ['POST /api/servers/{id}/backups', [202]], ['POST /api/servers/{id}/backups/{backupId}/restore', [202]],
  ['GET /api/servers/{id}/backups/restore', [200]], ['DELETE /api/servers/{id}/backups/{backupId}', [204]],
  ['GET /api/servers/{id}/backups/{backupId}/download', []], ['POST /api/servers/{id}/backups/{backupId}/lock', []],
  // Dev containers
  ['GET /api/dev/runtimes', [200]], ['POST /api/dev/{id}/ide-token', []], ['GET /api/dev/{id}/ide', []],
  ['POST /api/dev/{id}/codeserver/{action}', []], ['POST /api/dev/{id}/runtime', [202]], ['POST /api/dev/{id}/runtime/rollback', []],
  ['POST /api/dev/{id}/ssh-key', []],
  // Velocity
  ['GET /api/velocity/rehydrate', [200]], ['POST /api/velocity/resync', []], ['POST /api/velocity/events', []],
  // Billing
  ['GET /api/billing', [200]], ['POST /api/billing/checkout', [200]], ['POST /api/billing/portal', [200]], ['GET /api/billing/invoices', [200]],
  ['POST /api/billing/webhook', []],
  // Support, notes, announcements
  ['POST /api/support/tickets', [201]], ['POST /api/support/create', [201]], ['GET /api/support/tickets', [200]],
  ['GET /api/admin/support/tickets', [200]], ['GET /api/admin/support/tickets/{id}', [200]], ['GET /api/notes', []], ['PUT /api/notes', []],
  ['POST /api/support/tickets/{id}/messages', []], ['GET /api/announcements', [200]], ['POST /api/announcements/{id}/dismiss', []],
  ['POST /api/admin/announcements', []],
  // Sharing, API keys, schedules, activity, resources, settings
  ['GET /api/servers/{id}/subusers', [200]], ['POST /api/servers/{id}/subusers', [201]], ['GET /api/me/invitations', [200]],
  ['POST /api/me/invitations/{id}/accept', []], ['PATCH /api/servers/{id}/subusers/{subuserId}', []], ['DELETE /api/servers/{id}/subusers/{subuserId}', []],
  ['POST /api/me/api-keys', [201]], ['GET /api/me/api-keys', [200]], ['DELETE /api/me/api-keys/{id}', []],
  ['GET /api/servers/{id}/schedules', [200]], ['POST /api/servers/{id}/schedules', []], ['PATCH /api/servers/{id}/schedules/{scheduleId}', []],
  ['DELETE /api/servers/{id}/schedules/{scheduleId}', []], ['POST /api/servers/{id}/schedules/{scheduleId}/run', []],
  ['GET /api/servers/{id}/activity', [200]], ['GET /api/me/activity', [200]], ['GET /api/servers/{id}/resources', [200]],
  ['PATCH /api/servers/{id}', []], ['GET /api/servers/{id}/settings', [200]], ['PUT /api/servers/{id}/settings', []],
  ['POST /api/servers/{id}/reinstall', [202]],
  // Mods
  ['GET /api/mods/search', [200]], ['GET /api/servers/{id}/mods', [200]], ['POST /api/servers/{id}/mods', [202]],
  ['PATCH /api/servers/{id}/mods/{modId}', []], ['DELETE /api/servers/{id}/mods/{modId}', []], ['GET /api/servers/{id}/mods/updates', [200]],
  // Uptime
  ['GET /api/servers/{id}/uptime', [200]],
  // Admin and operations
  ...['users', 'servers', 'operations', 'repairs', 'queues', 'outbox'].map((list): [string, number[]] => [`GET /api/admin/${list}`, [200]]),
  ['POST /api/admin/repairs/{id}/approve', []], ['POST /api/admin/maintenance', []], ['PATCH /api/admin/users/{id}', []],
  ['GET /healthz', [200]], ['GET /readyz', [200]], ['GET /metrics', [200]], ['GET /api/openapi.json', [200]],
  // Agent
  ['POST /api/agent/events', []],
];

describe('Every route of API.md in GET /api/openapi.json, with every plugin enabled', () => {
  let tk: TestKernel;
  let doc: any;
  const op = (route: string): Operation => {
    const [method, path] = route.split(' ');
    return doc.paths[path]?.[method.toLowerCase()];
  };
  const operations = (): Array<[string, Operation]> => Object.entries<Record<string, Operation>>(doc.paths)
    .flatMap(([path, item]) => Object.entries(item).map(([method, o]): [string, Operation] => [`${method.toUpperCase()} ${path}`, o]));

  before(async () => {
    tk = await startTestKernel({ config: { plugins: everyPlugin() } });
    doc = (await tk.http.get('/api/openapi.json')).body;
  });
  after(async () => {
    await tk?.stop();
  });

  it('has each documented route, with an operationId and the success statuses API.md names', () => {
    const problems: string[] = [];
    for (const [route, statuses] of API_MD) {
      const o = op(route);
      if (!o) {
        problems.push(`${route}: missing`);
        continue;
      }
      if (!o.operationId) problems.push(`${route}: no operationId`);
      const successes = Object.keys(o.responses).filter((s) => s < '400' && s !== '304').map(Number);
      if (statuses.length && JSON.stringify(successes) !== JSON.stringify(statuses)) problems.push(`${route}: ${successes.join(',')} instead of ${statuses.join(',')}`);
      if (!statuses.length && !successes.some((s) => s >= 200 && s < 400)) problems.push(`${route}: no success status`);
    }
    expect(problems).to.deep.equal([]);
  });

  it('names Location on the 202 of a create, a delete and a reinstall, and on the 201 of a new ticket', () => {
    for (const route of ['POST /api/instances', 'DELETE /api/servers/{id}', 'POST /api/servers/{id}/reinstall']) {
      expect(op(route).responses['202'].headers, route).to.have.property('Location');
    }
    for (const route of ['POST /api/support/tickets', 'POST /api/support/create']) {
      expect(op(route).responses['201'].headers, route).to.have.property('Location');
    }
  });

  it('spells the Idempotency-Key header the same on every route that takes one, so a client has one parameter name', () => {
    const spellings = operations().flatMap(([route, o]) => (o.parameters ?? [])
      .filter((p: any) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key').map((p: any) => `${route} ${p.name}`));
    expect(spellings.filter((s) => !s.endsWith(' Idempotency-Key'))).to.deep.equal([]);
    // One bound everywhere: the key sits in a unique index.
    const unbounded = operations().filter(([, o]) => (o.parameters ?? []).some((p: any) => p.name === 'Idempotency-Key' && p.schema.maxLength !== 200));
    expect(unbounded.map(([route]) => route)).to.deep.equal([]);
    for (const route of ['POST /api/instances', 'POST /api/servers/{id}/backups', 'POST /api/servers/{id}/reinstall', 'POST /api/dev/{id}/runtime', 'POST /api/servers/{id}/mods']) {
      expect(spellings, route).to.include(`${route} Idempotency-Key`);
    }
  });

  it('describes the proxy and edge sections of a server\'s status, as API.md gives them', () => {
    const body = op('GET /api/servers/{id}/status').responses['200'].content['application/json'].schema;
    expect(body.required).to.include.members(['state', 'agentReady', 'ready', 'crash', 'billing', 'proxy', 'edge']);
    // A nullable object: `type: ['object', 'null']`, or an anyOf with null.
    const section = (name: string) => body.properties[name].anyOf?.find((s: any) => s.type === 'object') ?? body.properties[name];
    expect(section('proxy').type).to.include('object');
    expect(section('proxy').properties.state.enum).to.include('registered');
    expect(section('proxy').required).to.have.members(['state', 'lastEvent', 'at']);
    expect(section('edge').required).to.include.members(['published', 'record']);
    expect(section('edge').properties.published.type).to.equal('boolean');
  });

  it('takes If-Match (412 when stale) on every write to a server, a file\'s content or the notes, and answers their ETag', () => {
    for (const route of ['PATCH /api/servers/{id}', 'DELETE /api/servers/{id}', 'PUT /api/servers/{id}/files/content', 'PUT /api/notes']) {
      expect((op(route).parameters ?? []).find((p: any) => p.in === 'header' && p.name === 'If-Match'), route).to.include({ required: false });
      expect(op(route).responses['412'], route).to.deep.equal({ $ref: '#/components/responses/Error412' });
    }
    for (const route of ['PATCH /api/servers/{id}', 'GET /api/servers/{id}', 'PUT /api/servers/{id}/files/content', 'GET /api/notes', 'PUT /api/notes']) {
      expect(op(route).responses['200'].headers, route).to.have.property('ETag');
    }
  });

  it('lists 402 on the console WebSocket, which a suspended account gets before the 101', () => {
    for (const route of ['GET /api/servers/{id}/console', 'GET /api/game/servers/{id}/console']) {
      expect(Object.keys(op(route).responses), route).to.include.members(['101', '401', '402', '403', '404']);
    }
  });

  it('names Content-Disposition on the downloads, canonical and compatibility', () => {
    for (const route of ['GET /api/servers/{id}/files/download', 'GET /api/game/servers/{id}/files/download', 'GET /api/servers/{id}/backups/{backupId}/download']) {
      expect(op(route).responses['200'].headers, route).to.have.property('Content-Disposition');
    }
  });

  it('names Retry-After and the RateLimit headers on every 429', () => {
    expect(Object.keys(doc.components.responses.Error429.headers)).to.include.members(['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']);
    for (const [route, o] of operations()) if (o.responses?.['429']) expect(o.responses['429'], route).to.deep.equal({ $ref: '#/components/responses/Error429' });
  });

  it('names the RateLimit headers an API key gets on the routes it may call', () => {
    for (const route of ['GET /api/servers', 'GET /api/servers/{id}/files/content', 'POST /api/instances', 'GET /api/admin/users']) {
      const success = Object.entries<any>(op(route).responses).find(([s]) => s < '300')![1];
      expect(Object.keys(success.headers), route).to.include.members(['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']);
    }
  });

  it('pages every list that answers nextCursor: limit (default 50, max 200) and cursor in', () => {
    const unpaged: string[] = [];
    for (const [route, o] of operations()) {
      const body = o.responses?.['200']?.content?.['application/json']?.schema;
      if (!body?.properties?.nextCursor) continue;
      const limit = (o.parameters ?? []).find((p: any) => p.in === 'query' && p.name === 'limit');
      const cursor = (o.parameters ?? []).find((p: any) => p.in === 'query' && p.name === 'cursor');
      if (!cursor || limit?.schema?.maximum !== 200 || limit?.schema?.default !== 50) unpaged.push(route);
    }
    expect(unpaged).to.deep.equal([]);
  });
});
