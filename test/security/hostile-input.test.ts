import { expect } from 'chai';
import codeserverPlugin from '../../plugins/codeserver';
import modrinthPlugin from '../../plugins/modrinth';
import stripePlugin from '../../plugins/stripe';
import supportPlugin from '../../plugins/support';
import { ModrinthSimulator } from '../../plugins/modrinth/testing/simulator';
import type { StripeSimulator } from '../../plugins/stripe/testing/simulator';
import { stripePluginConfig, testStripe } from '../../plugins/stripe/testing/fixture';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { codeserverOptions } from '../dev/fixture';
import { gameServer } from '../files/api-fixture';
import { fleetConfig, fleetPlugins, startFleet, type Fleet } from '../provisioning/fixture';

/** Path parameters no route should take for a real one. */
const BAD_PARAMS = ['not-a-uuid', '%00', '..%2f..', 'a'.repeat(300), '00000000-0000-0000-0000-000000000000'];
/** Bodies that are not what any route declares. */
const BAD_BODIES = ['{', '[]', '"s"', 'null', '1', '{"__proto__":{"x":1}}', `{"a":${'1'.repeat(400)}}`];
const NAMES_NOTHING = '00000000-0000-4000-8000-000000000000';

describe('Hostile input on every route of the kernel and the plugins (table over the route list)', function () {
  this.timeout(180_000);
  let fleet: Fleet;
  let modrinth: ModrinthSimulator;
  let stripe: StripeSimulator;
  let tk: TestKernel;
  let admin: TestUser;
  let serverId: string;

  before(async () => {
    fleet = await startFleet();
    modrinth = new ModrinthSimulator();
    await modrinth.start();
    ({ sim: stripe } = testStripe());
    await stripe.start();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, modrinthPlugin, supportPlugin, codeserverPlugin, stripePlugin],
      config: fleetConfig(fleet, {
        plugins: {
          modrinth: { enabled: true, options: { simulate: false, baseUrl: modrinth.url, timeoutMs: 3000 } },
          support: { enabled: true },
          codeserver: { enabled: true, options: codeserverOptions(fleet) },
          ...stripePluginConfig(stripe, { requirePlan: false }),
        },
      }),
    });
    // An admin reaches the admin routes too, so every handler is past its gate.
    admin = await tk.user({ role: 'admin' });
    serverId = (await gameServer(admin, 'hostile-input')).id;
  });
  after(async () => {
    await tk?.stop();
    await stripe?.stop();
    await modrinth?.stop();
    await fleet?.stop();
  });

  it('answers malformed ids, unknown or repeated query parameters and malformed bodies with a 4xx in the error envelope, never a 5xx', async () => {
    const failures: string[] = [];
    const send = async (what: string, method: string, path: string, body?: string, contentType = 'application/json') => {
      const headers: Record<string, string> = { authorization: `Bearer ${admin.accessToken}` };
      if (body !== undefined) headers['content-type'] = contentType;
      const res = await fetch(tk.url + path, { method, headers, body });
      const text = await res.text();
      let envelope = false;
      try {
        envelope = typeof JSON.parse(text).error?.code === 'string';
      } catch {
        envelope = false;
      }
      if (res.status >= 500 || (res.status >= 400 && !envelope)) failures.push(`${what}: ${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
    };
    let routes = 0;
    for (const { spec } of tk.kernel.router.routes()) {
      routes++;
      const method = spec.method.toUpperCase();
      const real = spec.path.replace(/:(\w+)/g, (_m: string, name: string) => (name === 'id' ? serverId : name === 'action' ? 'start' : name === 'backupId' ? 'b1' : NAMES_NOTHING));
      const someBody = method === 'GET' || method === 'DELETE' ? undefined : '{}';
      for (const bad of BAD_PARAMS) {
        const path = spec.path.replace(/:(\w+)/g, () => bad);
        if (path !== spec.path) await send('a bad path parameter', method, path, someBody);
      }
      // Refused before the handler runs (the query is parsed first), so a real server is safe to name.
      await send('an unknown query parameter', method, `${real}?zzz=1`, someBody);
      await send('repeated query parameters', method, `${real}?path=a&path=b&limit=1&limit=2&cursor=x`, someBody);
      await send('out-of-range query values', method, `${real}?limit=99999999999999999999&cursor=${'%ff'.repeat(10)}&since=notadate&days=-1`, someBody);
      if (!spec.body) continue;
      for (const body of BAD_BODIES) await send(`the body ${body.slice(0, 20)}`, method, real, body);
      await send('a text/plain body', method, real, 'hello', 'text/plain');
    }
    expect(routes).to.be.above(100);
    expect(failures).to.deep.equal([]);
  });
});
