import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimulatorOptions } from '../config';
import { SimFaults, selects } from './faults';
import { agentRoutes, type SimReply, type SimRoute } from './routes';
import { SimContainer, type SimContainerSnapshot } from './sim-container';

export interface SimRequestRecord {
  vmid: number;
  method: string;
  /** Path under /ct/{vmid}, without the query. */
  path: string;
  at: Date;
}

/** The log keeps the latest requests only: the embedded default polls readiness for as long as it runs. */
const REQUEST_LOG_LIMIT = 1000;
const BODY_LIMIT_BYTES = 1024 * 1024;
const CONTAINER_PATH = /^\/ct\/(\d+)(\/[^?]*)?/;

const DEFAULTS: SimulatorOptions = { host: '127.0.0.1', port: 7071, latencyMs: 0, bootMs: 300 };

/**
 * Many simulated in-container agents behind one loopback port: container {vmid} answers under
 * /ct/{vmid}/…, so an instance's agent address is http://host:port/ct/{vmid}. Containers appear
 * on their first request.
 */
export class AgentSimulator {
  readonly faults: SimFaults;
  readonly requests: SimRequestRecord[] = [];
  private readonly options: SimulatorOptions;
  private readonly sims = new Map<number, SimContainer>();
  private readonly routes = new Map<string, SimRoute>(agentRoutes.map((r) => [`${r.method} ${r.path}`, r]));
  private server?: Server;
  private port = 0;

  constructor(options: Partial<SimulatorOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.faults = new SimFaults(this.options.latencyMs);
  }

  /** http://host:port, once started. */
  get url(): string {
    return `http://${this.options.host}:${this.port}`;
  }

  /** The agent base URL of one container. */
  address(vmid: number): string {
    return `${this.url}/ct/${vmid}`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => reply(res, { status: 500, body: { error: 'simulator_error', message: err.message } }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Closes held and kept-alive connections too, so an `unreachable` fault never blocks shutdown. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  containers(): Map<number, SimContainerSnapshot> {
    return new Map([...this.sims].map(([vmid, sim]) => [vmid, sim.snapshot()]));
  }

  /** Forgets every container, the request log and the faults. */
  reset(): void {
    this.sims.clear();
    this.requests.length = 0;
    this.faults.reset();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const control = SIM_CONTROL_PATH.exec(req.url ?? '');
    if (control && req.method === 'DELETE') {
      // The hosting simulator destroyed this container: its agent, files and token go with it.
      this.sims.delete(Number(control[1]));
      return reply(res, { status: 204, body: '' });
    }
    const match = CONTAINER_PATH.exec(req.url ?? '');
    if (!match) return reply(res, { status: 404, body: { error: 'not_found' } });
    const vmid = Number(match[1]);
    const path = match[2] ?? '/';
    const method = req.method ?? 'GET';
    this.record({ vmid, method, path, at: new Date() });

    if (selects(this.faults.unreachable, vmid)) return;
    if (selects(this.faults.dropConnections, vmid)) return void req.socket.destroy();
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    const failure = this.faults.takeFailure();
    if (failure) return reply(res, failure);

    const route = this.routes.get(`${method} ${path}`);
    if (!route) return reply(res, { status: 404, body: { error: 'not_found' } });
    const read = await readJson(req);
    if ('rejected' in read) return reply(res, read.rejected);
    const body = read.body;
    const container = this.container(vmid);
    const bearer = bearerOf(req);
    if (!container.token) {
      if (!route.trustOnFirstUse) return reply(res, route.unprovisioned ?? { status: 409, body: { error: 'not_provisioned' } });
    } else if (!bearer || !sameToken(bearer, container.token)) {
      return reply(res, { status: 401, body: { error: 'unauthorized' } });
    }
    reply(res, await route.handle({ container, body, bearer }));
  }

  private container(vmid: number): SimContainer {
    let sim = this.sims.get(vmid);
    if (!sim) {
      sim = new SimContainer(vmid, { bootMs: this.options.bootMs, neverReady: () => selects(this.faults.neverReady, vmid) });
      this.sims.set(vmid, sim);
    }
    return sim;
  }

  private record(entry: SimRequestRecord): void {
    this.requests.push(entry);
    if (this.requests.length > REQUEST_LOG_LIMIT) this.requests.splice(0, this.requests.length - REQUEST_LOG_LIMIT);
  }
}

/** Control endpoint of the simulator itself (not part of the agent's API). */
const SIM_CONTROL_PATH = /^\/__sim\/ct\/(\d+)$/;

function reply(res: ServerResponse, { status, body }: SimReply): void {
  if (res.destroyed || res.headersSent) return;
  const text = typeof body === 'string';
  res.writeHead(status, { 'content-type': text ? 'text/plain; charset=utf-8' : 'application/json' });
  res.end(text ? body : JSON.stringify(body));
}

function bearerOf(req: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** Constant-time, as the real agent must be. */
function sameToken(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readJson(req: IncomingMessage): Promise<{ body: unknown } | { rejected: SimReply }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) return { rejected: { status: 413, body: { error: 'body_too_large' } } };
    chunks.push(chunk);
  }
  if (size === 0) return { body: undefined };
  try {
    return { body: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { rejected: { status: 400, body: { error: 'invalid_json' } } };
  }
}
