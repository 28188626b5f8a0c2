import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { SCOPE_FOR_ACCESS, SERVER_PERMISSIONS, type ServerAccessLevel, type ServerPermission } from '../../kernel/api';
import type { DeclaredRoute } from '../../kernel/core/http/router';
import type { TestClient, TestKernel, TestUser } from '../harness';
import { gameServer } from '../files/api-fixture';
import { startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';
import { apiKey, subuser } from './fixture';

/** A route acts on a server when its path names one. */
const SERVER_PATH = /\/servers\/:id(\/|$)/;

/** The path of a route with `:id` the server and every other parameter a well-formed value that names nothing. */
function pathOf(route: DeclaredRoute, serverId: string): string {
  return route.spec.path.replace(/:(\w+)/g, (_m, name: string) => (name === 'id' ? serverId : name === 'backupId' ? 'no-such-backup' : randomUUID()));
}

/** What the gate answers for a server the caller cannot see. */
const GATE_404 = 'Server not found';

const call = (client: TestClient, route: DeclaredRoute, path: string) =>
  client.request(route.spec.method.toUpperCase(), path, { body: route.spec.method === 'get' || route.spec.method === 'delete' ? undefined : {} });

describe('Every server route checks the caller’s permission on the server (table over the route list)', function () {
  this.timeout(120_000);
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  let stranger: TestUser;
  let bare: TestUser;
  let serverId: string;
  /** One subuser per permission, holding exactly it. */
  const holders = new Map<ServerPermission, TestUser>();
  let routes: DeclaredRoute[];

  before(async () => {
    fleet = await startFleet();
    tk = await startFleetKernel(fleet);
    owner = await tk.user();
    stranger = await tk.user();
    serverId = (await gameServer(owner, 'permissions-table')).id;
    bare = await subuser(tk, owner, serverId, []);
    for (const p of SERVER_PERMISSIONS) holders.set(p, await subuser(tk, owner, serverId, [p]));
    routes = tk.kernel.router.routes().filter((r) => SERVER_PATH.test(r.spec.path) || r.spec.server);
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  it('finds the server routes of the kernel and every enabled plugin, and each declares what it needs', () => {
    expect(routes.length).to.be.above(40);
    const undeclared = routes.filter((r) => !r.spec.server).map((r) => `${r.owner}: ${r.spec.method.toUpperCase()} ${r.spec.path}`);
    expect(undeclared, 'server routes without a `server: {permission}` declaration').to.deep.equal([]);
  });

  it('answers 404 to an account the server is not shared with, on every server route', async () => {
    for (const route of routes) {
      const res = await call(stranger.http, route, pathOf(route, serverId));
      expect(res.status, `${route.spec.method} ${route.spec.path}: ${res.text}`).to.equal(404);
      expect(res.body.error.code).to.equal('not_found');
    }
  });

  it('answers 403 to a subuser without the route’s permission, and lets `view` routes through', async () => {
    for (const route of routes) {
      const level = route.spec.server!.permission;
      const res = await call(bare.http, route, pathOf(route, serverId));
      const what = `${route.spec.method} ${route.spec.path} (${level}): ${res.text}`;
      if (level === 'view') expect(res.status, what).to.equal(200);
      else {
        expect(res.status, what).to.equal(403);
        expect(res.body.error.code).to.equal('forbidden');
      }
    }
  });

  it('lets a subuser holding exactly the permission past the gate, and only the owner past `owner` routes', async () => {
    for (const route of routes) {
      const level = route.spec.server!.permission as ServerAccessLevel;
      if (level === 'view') continue;
      const path = pathOf(route, serverId);
      for (const [permission, holder] of holders) {
        const res = await call(holder.http, route, path);
        const what = `${route.spec.method} ${route.spec.path} (${level}) as a holder of ${permission}: ${res.status} ${res.text}`;
        // Past the gate the route may still refuse what the request names (a backup that does not exist): never the server itself.
        if (level === permission) expect(res.status === 403 || (res.status === 404 && res.body.error.message === GATE_404), what).to.equal(false);
        else expect(res.status, what).to.equal(403);
      }
    }
  });

  it('refuses an API key of the owner outside its scopes (403 naming the scope), on every server route', async () => {
    const readOnly = await apiKey(owner, ['account.read']);
    for (const route of routes) {
      const level = route.spec.server!.permission as ServerAccessLevel;
      const res = await call(tk.http.as(readOnly), route, pathOf(route, serverId));
      const what = `${route.spec.method} ${route.spec.path}: ${res.text}`;
      expect(res.status, what).to.equal(403);
      expect(res.body.error.details, what).to.deep.equal({ scope: SCOPE_FOR_ACCESS[level] });
    }
  });
});
