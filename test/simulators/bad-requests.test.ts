import { expect } from 'chai';
import http from 'node:http';
import { LoopbackHttpServer } from '../../kernel/api';
import { AgentSimulator } from '../../plugins/agent/testing/simulator';
import { CloudflareSimulator } from '../../plugins/cloudflare/testing/simulator';
import { ProxmoxSimulator } from '../../plugins/proxmox/testing/simulator';
import { BridgeSimulator } from '../../plugins/velocity/testing/simulator';

interface Answer {
  status: number;
  body: string;
}

/** Raw HTTP: the request may be one no well-behaved client would send. */
function send(url: string, method: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${url}: no answer within 5 s`)));
    req.end(body);
  });
}

interface SimulatorUnderTest {
  name: string;
  start(): Promise<{ base: string; stop(): Promise<void> }>;
  /** A route that takes a JSON or form body. */
  writePath: string;
  writeMethod: string;
  /** A path whose segment is percent-decoded by the simulator. */
  escapedPath: string;
  /** A request any running instance answers 401, showing that the simulator still serves. */
  probePath: string;
}

const TWO_MIB = Buffer.alloc(2 * 1024 * 1024, 'x');

const simulators: SimulatorUnderTest[] = [
  {
    name: 'Proxmox',
    async start() {
      const sim = new ProxmoxSimulator({ port: 0 });
      return { base: await sim.start(), stop: () => sim.stop() };
    },
    writePath: '/nodes/pve1/lxc', writeMethod: 'POST', escapedPath: '/nodes/pve%E0%A4%A/lxc', probePath: '/cluster/resources',
  },
  {
    name: 'Cloudflare',
    async start() {
      const sim = new CloudflareSimulator({ port: 0 });
      return { base: await sim.start(), stop: () => sim.stop() };
    },
    writePath: '/zones/z1/dns_records', writeMethod: 'POST', escapedPath: '/zones/%zz/dns_records', probePath: '/zones/z1/dns_records',
  },
  {
    name: 'Velocity bridge',
    async start() {
      const sim = new BridgeSimulator({ port: 0 });
      return { base: await sim.start(), stop: () => sim.stop() };
    },
    writePath: '/servers/zp-5001', writeMethod: 'PUT', escapedPath: '/servers/%E0%A4%A', probePath: '/servers',
  },
  {
    name: 'agent',
    async start() {
      const sim = await new AgentSimulator({ port: 0 }).start();
      // Provisioned, so every route below asks for the container's token.
      const provision = await fetch(`${sim.address(1)}/provision`, {
        method: 'POST', headers: { authorization: 'Bearer t' }, body: JSON.stringify({ payload: { agentToken: 't' } }),
      });
      expect(provision.status).to.equal(200);
      return { base: sim.address(1), stop: () => sim.stop() };
    },
    writePath: '/power', writeMethod: 'POST', escapedPath: '/backups/%zz', probePath: '/status',
  },
];

for (const simulator of simulators) {
  describe(`${simulator.name} simulator, against bad requests`, () => {
    let running: { base: string; stop(): Promise<void> };
    before(async () => {
      running = await simulator.start();
    });
    after(() => running.stop());

    it('answers a 2 MiB body sent without a token with 413 or 401, and keeps serving', async () => {
      const answer = await send(`${running.base}${simulator.writePath}`, simulator.writeMethod, TWO_MIB, { 'content-type': 'application/json' });
      expect(answer.status).to.be.oneOf([401, 413]);
      expect((await send(`${running.base}${simulator.probePath}`, 'GET')).status).to.equal(401);
    });

    it('answers 400 to a path with a malformed percent-escape', async () => {
      expect((await send(`${running.base}${simulator.escapedPath}`, 'DELETE')).status).to.equal(400);
      expect((await send(`${running.base}${simulator.probePath}`, 'GET')).status).to.equal(401);
    });
  });
}

describe('LoopbackHttpServer', () => {
  let server: LoopbackHttpServer;
  let origin: string;
  before(async () => {
    server = new LoopbackHttpServer({
      async handle(req) {
        if (req.url === '/throw-later') await Promise.reject(new Error('handler failed after awaiting'));
        throw new TypeError('handler failed');
      },
      failure: (err) => ({ status: err.status, body: { error: err.code, message: err.message } }),
    });
    origin = (await server.listen()).origin;
  });
  after(() => server.close());

  it('answers 500 in the simulator\'s own envelope when a handler throws, and keeps serving', async () => {
    for (const path of ['/throw-now', '/throw-later']) {
      const answer = await send(`${origin}${path}`, 'GET');
      expect(answer.status).to.equal(500);
      expect(JSON.parse(answer.body)).to.have.property('error', 'internal');
    }
  });
});
