import { expect } from 'chai';
import { connect as netConnect } from 'node:net';
import { request } from 'node:http';
import { z } from 'zod';
import { BillingGate, definePlugin } from '../../kernel/api';
import type { EnforcementState, PlanEntitlements } from '../../kernel/api';
import codeserverPlugin from '../../plugins/codeserver';
import { simulatedArtifactSha256 } from '../../plugins/agent/testing/sim-dev';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, settle, startFleet, type Fleet } from '../provisioning/fixture';

export const DEV_DOMAIN = 'dev.zpack.test';
export const IDE_SECRET = 'test-ide-secret-test-ide-secret';
export const PORTAL = 'https://portal.zpack.test';

const artifact = (runtime: string, version: string) => `https://artifacts.zpack.test/${runtime}-${version}.tar.gz`;
const entry = (runtime: string, version: string, sha256 = simulatedArtifactSha256(artifact(runtime, version))) => ({ runtime, version, artifact: artifact(runtime, version), sha256 });

/** node 22 and 20 verify; node 18's catalog hash is well-formed but not its artifact's (a tampered entry). */
export const TEST_CATALOG = [entry('node', '22'), entry('node', '20'), entry('node', '18', 'f'.repeat(64)), entry('python', '3.12')];

/** The plan and billing state of each account, as the test sets them. */
export const billing = {
  states: new Map<string, EnforcementState>(),
  plans: new Map<string, PlanEntitlements>(),
};

const testBilling = definePlugin({
  name: 'test-billing', version: '1.0.0', kernelApi: '2', config: z.object({}),
  register(ctx) {
    ctx.provide(BillingGate, () => new (class extends BillingGate {
      async stateOf(accountId: string): Promise<EnforcementState> {
        return billing.states.get(accountId) ?? 'active';
      }
      async entitlementsOf(accountId: string): Promise<PlanEntitlements | null> {
        return billing.plans.get(accountId) ?? null;
      }
    })());
  },
});

export interface DevEnv {
  fleet: Fleet;
  tk: TestKernel;
  /** host:port of the kernel. */
  address: string;
  port: number;
}

export function codeserverOptions(fleet: Fleet, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    simulate: false, catalog: TEST_CATALOG, devDomain: DEV_DOMAIN, publicScheme: 'https',
    ide: { secret: IDE_SECRET, recheckMs: 0 },
    codeServer: { endpoint: `${fleet.agents.url}/ct/{vmid}/codeserver`, timeoutMs: 3000 },
    ...extra,
  };
}

export async function startDevEnv(extra: Record<string, unknown> = {}): Promise<DevEnv> {
  const fleet = await startFleet();
  const tk = await startTestKernel({
    plugins: [...fleetPlugins, codeserverPlugin, testBilling],
    config: fleetConfig(fleet, {
      console: { allowedOrigins: [PORTAL] },
      plugins: {
        'test-billing': { enabled: true },
        codeserver: { enabled: true, options: codeserverOptions(fleet, extra) },
      },
    }),
  });
  const url = new URL(tk.url);
  return { fleet, tk, address: url.host, port: Number(url.port) };
}

export const devBody = (name = 'Workbench', options: Record<string, unknown> = { runtime: 'node', version: '22', enableCodeServer: true }) =>
  ({ kind: 'dev', type: 'codeserver', name, options });

export interface DevContainer {
  id: string;
  vmid: number;
  host: string;
}

export async function createDev(user: TestUser, key: string, options?: Record<string, unknown>): Promise<DevContainer> {
  const res = await create(user, key, devBody(`Dev ${key}`, options));
  expect(res.status, JSON.stringify(res.body)).to.equal(202);
  const op = await settle(user, res.body.operation.id);
  expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
  const server = await user.http.get(`/api/servers/${op.instanceId}`);
  const vmid = server.body.server?.vmid ?? server.body.vmid;
  return { id: op.instanceId, vmid, host: `dev-${vmid}.${DEV_DOMAIN}` };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A plain HTTP request with headers of our choosing (Host included), over a real socket. */
export function httpTo(env: DevEnv, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: env.port, method, path, headers, setHost: false, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Bytes as written, for what no well-behaved client sends (two Host headers, absolute-form, no Host). */
export function rawRequest(env: DevEnv, lines: string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(env.port, '127.0.0.1');
    let text = '';
    socket.on('data', (c: Buffer) => (text += c));
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.on('error', reject);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    setTimeout(() => socket.end(), 2000).unref();
  });
}

/** Requests written back to back on one connection before any answer; answers their statuses and bodies in order (chunked bodies decoded). */
export function pipelined(env: DevEnv, requests: string[]): Promise<Array<{ status: number; body: string }>> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(env.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(splitAnswers(Buffer.concat(chunks).toString('latin1'))));
    socket.on('error', reject);
    socket.write(requests.join(''));
    setTimeout(() => socket.destroy(new Error('no end of the pipelined answers within 10 s')), 10_000).unref();
  });
}

function splitAnswers(text: string): Array<{ status: number; body: string }> {
  const answers: Array<{ status: number; body: string }> = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    const head = text.slice(at, headEnd);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
    at = headEnd + 4;
    let body = '';
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length) {
      body = text.slice(at, at + Number(length[1]));
      at += Number(length[1]);
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const lineEnd = text.indexOf('\r\n', at);
        const size = parseInt(text.slice(at, lineEnd), 16);
        at = lineEnd + 2 + size + 2;
        if (!size) break;
        body += text.slice(lineEnd + 2, lineEnd + 2 + size);
      }
    }
    answers.push({ status, body });
  }
  return answers;
}

/** Takes an IDE token and exchanges it at the bootstrap on the container's own host; answers the cookie pair. */
export async function openIde(env: DevEnv, user: TestUser, dev: DevContainer): Promise<{ cookie: string; setCookie: string; url: string }> {
  const token = await user.http.post(`/api/dev/${dev.id}/ide-token`);
  expect(token.status, token.text).to.equal(200);
  const url = new URL(token.body.url);
  const boot = await httpTo(env, 'GET', url.pathname + url.search, { host: dev.host });
  expect(boot.status, boot.text).to.equal(302);
  const setCookie = String(boot.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0], setCookie, url: token.body.url };
}
