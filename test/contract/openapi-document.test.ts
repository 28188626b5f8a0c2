import { expect } from 'chai';
import { startTestKernel, type TestKernel } from '../harness';
import { fleetConfig, fleetPlugins, startFleet, type Fleet } from '../provisioning/fixture';
import velocityPlugin from '../../plugins/velocity';

type Operation = Record<string, any>;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'];
/** The only operations anyone may call without a token: signing in and the probes. */
const PUBLIC = ['register', 'login', 'refreshSession', 'requestPasswordReset', 'confirmPasswordReset', 'getLiveness', 'getReadiness', 'getOpenApiDocument'];

describe('GET /api/openapi.json, the contract a portal is generated from', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let doc: any;
  let operations: Array<{ path: string; method: string; op: Operation }>;
  const byId = (id: string) => operations.find((o) => o.op.operationId === id)!.op;
  const param = (op: Operation, where: string, name: string) => (op.parameters ?? []).find((p: any) => p.in === where && p.name === name);

  before(async () => {
    fleet = await startFleet();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, velocityPlugin],
      config: fleetConfig(fleet, { plugins: { velocity: { enabled: true, options: { simulate: true, simulator: { port: 0 }, proxyToken: 'proxy-secret' } } } }),
    });
    doc = (await tk.http.get('/api/openapi.json')).body;
    operations = Object.entries<Record<string, Operation>>(doc.paths)
      .flatMap(([path, item]) => Object.entries(item).filter(([m]) => HTTP_METHODS.includes(m)).map(([method, op]) => ({ path, method, op })));
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  it('gives every operation a unique camelCase operationId, a summary and tags the document describes', () => {
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.every((id) => /^[a-z][A-Za-z0-9]*$/.test(id)), ids.join()).to.equal(true);
    expect(new Set(ids).size).to.equal(ids.length);
    const described = new Set(doc.tags.map((t: any) => t.name));
    for (const { op } of operations) {
      expect(op.summary, op.operationId).to.be.a('string').and.not.equal('');
      expect(op.tags, op.operationId).to.have.length.above(0);
      for (const tag of op.tags) expect(described.has(tag), `${op.operationId}: tag ${tag}`).to.equal(true);
    }
  });

  it('documents the real success statuses, each with its body', () => {
    const successes = (id: string) => Object.keys(byId(id).responses).filter((s) => s < '400');
    expect(successes('register')).to.deep.equal(['201']);
    expect(successes('createInstance')).to.deep.equal(['202']);
    expect(successes('deleteServer')).to.deep.equal(['202']);
    expect(successes('logout')).to.deep.equal(['204']);
    expect(successes('deleteBackup')).to.deep.equal(['204']);
    expect(successes('uploadFile')).to.deep.equal(['201']);
    expect(successes('deleteFile')).to.deep.equal(['204']);
    for (const { op } of operations) {
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (status >= '400' || status === '204' || status === '304' || status === '101') continue;
        expect(response.content, `${op.operationId} ${status}`).to.be.an('object');
        for (const media of Object.values<any>(response.content)) expect(media.schema, `${op.operationId} ${status}`).to.be.an('object');
      }
    }
    expect(byId('listServers').responses['200'].content['application/json'].schema.properties.servers.items).to.deep.equal({ $ref: '#/components/schemas/Server' });
  });

  it('answers every failure with the shared Error envelope', () => {
    const envelope = doc.components.schemas.Error;
    expect(envelope.required).to.deep.equal(['error']);
    expect(envelope.properties.error.required).to.have.members(['code', 'message', 'details', 'requestId']);
    for (const { op } of operations) {
      const failures = Object.entries<any>(op.responses).filter(([s]) => s >= '400');
      expect(failures.length, op.operationId).to.be.above(0);
      for (const [status, ref] of failures) {
        expect(ref, `${op.operationId} ${status}`).to.deep.equal({ $ref: `#/components/responses/Error${status}` });
        expect(doc.components.responses[`Error${status}`].content['application/json'].schema).to.deep.equal({ $ref: '#/components/schemas/Error' });
      }
    }
    expect(Object.keys(byId('createInstance').responses)).to.include.members(['400', '401', '402', '403', '422', '429']);
    expect(Object.keys(byId('login').responses)).to.include.members(['401', '429']);
  });

  it('names a security scheme on every route that needs a token: user, agent and proxy tokens alike', () => {
    expect(doc.components.securitySchemes.userToken).to.include({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.agentToken).to.include({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.proxyToken).to.include({ type: 'http', scheme: 'bearer' });
    for (const { op } of operations) {
      if (PUBLIC.includes(op.operationId)) expect(op.security, op.operationId).to.deep.equal([]);
      else expect(op.security, op.operationId).to.have.length.above(0);
    }
    expect(byId('listServers').security).to.deep.equal([{ userToken: [] }]);
    expect(byId('reportAgentEvent').security).to.deep.equal([{ agentToken: [] }]);
    expect(byId('rehydrateProxy').security).to.deep.equal([{ proxyToken: [] }]);
    expect(byId('reportProxyEvent').security).to.deep.equal([{ proxyToken: [] }]);
    expect(byId('getMetrics').security).to.deep.equal([{ metricsToken: [] }]);
  });

  it('declares request headers, query parameters and raw bodies', () => {
    expect(param(byId('createInstance'), 'header', 'Idempotency-Key')).to.include({ required: true });
    for (const id of ['listFiles', 'readFile', 'downloadFile', 'writeFile', 'uploadFile', 'deleteFile', 'listFilesCompat']) {
      expect(param(byId(id), 'query', 'path'), id).to.be.an('object');
    }
    for (const id of ['writeFile', 'uploadFile']) {
      expect(byId(id).requestBody.content['application/octet-stream'].schema, id).to.deep.equal({ type: 'string', format: 'binary' });
    }
    expect(byId('downloadFile').responses['200'].content).to.have.property('application/octet-stream');
    expect(param(byId('listOperations'), 'query', 'state').schema.enum).to.include('running');
    expect(byId('login').requestBody.required).to.equal(true);
  });

  it('describes paged lists: limit, cursor and filters in, nextCursor out', () => {
    const lists: Record<string, string> = {
      listServers: 'servers', adminListServers: 'servers', listOperations: 'operations', adminListOperations: 'operations',
      listCrashes: 'crashes', listBackups: 'backups', adminListUsers: 'users',
    };
    for (const [id, items] of Object.entries(lists)) {
      expect(param(byId(id), 'query', 'limit').schema, id).to.include({ maximum: 200, default: 50 });
      expect(param(byId(id), 'query', 'cursor'), id).to.be.an('object');
      expect(param(byId(id), 'query', 'since'), id).to.be.an('object');
      const body = byId(id).responses['200'].content['application/json'].schema;
      expect(body.required, id).to.include.members([items, 'nextCursor']);
      expect(body.properties.nextCursor.type, id).to.deep.equal(['string', 'null']);
    }
    expect(param(byId('listServers'), 'query', 'state').schema.enum).to.include('crashed');
    expect(param(byId('listServers'), 'query', 'type')).to.be.an('object');
    expect(param(byId('adminListUsers'), 'query', 'role').schema.enum).to.have.members(['user', 'admin']);
  });

  it('describes conditional requests: ETag out, If-None-Match → 304 on reads, If-Match → 412 on writes', () => {
    for (const id of ['getServer', 'readFile']) {
      expect(param(byId(id), 'header', 'If-None-Match'), id).to.include({ required: false });
      expect(byId(id).responses['304'], id).to.be.an('object').that.does.not.have.property('content');
      expect(byId(id).responses['200'].headers.ETag, id).to.be.an('object');
    }
    for (const id of ['deleteServer', 'writeFile', 'uploadFile', 'revertFile', 'deleteFile']) {
      expect(param(byId(id), 'header', 'If-Match'), id).to.include({ required: false });
      expect(byId(id).responses['412'], id).to.deep.equal({ $ref: '#/components/responses/Error412' });
    }
    expect(byId('writeFile').responses['200'].headers.ETag).to.be.an('object');
  });

  it('names the RateLimit headers of the sign-in routes, the player address of a server and a crash\'s crashedAt', () => {
    for (const id of ['register', 'login', 'requestPasswordReset']) {
      const success = Object.entries<any>(byId(id).responses).find(([s]) => s < '300')![1];
      expect(Object.keys(success.headers), id).to.include.members(['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']);
    }
    const server = doc.components.schemas.Server;
    expect(server.required).to.include('connect');
    expect(JSON.stringify(server.properties.connect), 'an object or null').to.include('"null"').and.include('"host"').and.include('"port"');
    expect(doc.components.schemas.CrashReport.required).to.include('crashedAt').and.not.include('at');
  });

  it('describes the operation event stream as text/event-stream', () => {
    const op = doc.paths['/api/operations/{id}/events'].get;
    expect(op.operationId).to.equal('streamOperationEvents');
    expect(op.responses['200'].content).to.have.property('text/event-stream');
    expect(op.security).to.deep.equal([{ userToken: [] }]);
  });

  it('describes the console WebSocket: a GET answering 101, opened with a ticket, speaking zpack.console.v1', () => {
    for (const path of ['/api/servers/{id}/console', '/api/game/servers/{id}/console']) {
      const op = doc.paths[path].get;
      expect(op.responses['101']).to.be.an('object');
      expect(param(op, 'query', 'ticket')).to.include({ required: true });
      expect(op.security).to.deep.equal([{ upgradeTicket: [] }]);
      expect(op.description).to.include('zpack.console.v1').and.include('{type:"resize",cols,rows}');
    }
    expect(doc.components.securitySchemes.upgradeTicket).to.deep.include({ type: 'apiKey', in: 'query', name: 'ticket' });
  });
});
