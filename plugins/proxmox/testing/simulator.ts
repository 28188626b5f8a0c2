import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  dropConnection, LoopbackSimulator, parseJsonBody, readBoundedBody, sendSimulatorAnswer, SimulatorStateFile, type SimulatorAnswer, type SimulatorRequestError,
} from '../../../kernel/api';
import { SimulatedCluster, SimulatedFailure, type SimulatedContainer } from './cluster';
import { ProxmoxFaults } from './faults';

export type { SimulatedContainer } from './cluster';

/** The token the simulator accepts unless told otherwise. */
export const SIMULATOR_TOKEN = { id: 'zpack@pve!simulator', secret: 'simulator-secret' } as const;

export interface ProxmoxSimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Delay before every answer (faults.latencyMs starts here and returns here on reset). */
  latencyMs?: number;
  /** How long each task runs before its status turns 'stopped'. */
  taskMs?: number;
  /** The only API token accepted; anything else is answered 401. */
  tokenId?: string;
  tokenSecret?: string;
  nodes?: string[];
  /**
   * The agent simulator beside it (e.g. http://127.0.0.1:7071), or how to find it when a container
   * is destroyed: its agent goes with it, told with DELETE <url>/__sim/ct/{vmid}.
   */
  agentSimulatorUrl?: string | (() => string | undefined);
  /** JSON file the containers are kept in across restarts; unset keeps them in memory. */
  stateFile?: string;
  /** Seeds the errorRatio draws (repeatable faults); unset: Math.random. */
  faultSeed?: number;
}

export interface SimulatorRequest {
  method: string;
  /** Path under /api2/json, e.g. /nodes/pve1/lxc. */
  path: string;
}

type Params = Record<string, string>;
type Route = [method: string, pattern: RegExp, answer: (cluster: SimulatedCluster, args: string[], params: Params) => unknown];

const PREFIX = '/api2/json';
/** What GET /version answers: the release the simulator follows. */
const VERSION = { version: '8.3.0', release: '8.3', repoid: 'c1689ccb1065a83b' };
const CT = '/nodes/([^/]+)/lxc/(\\d+)';
const ROUTES: Route[] = [
  ['GET', /^\/version$/, () => VERSION],
  ['GET', /^\/nodes$/, (c) => c.nodeList()],
  // Guests and nodes are simulated; storage and SDN are not, so asking for them finds none.
  ['GET', /^\/cluster\/resources$/, (c, _, p) => [...(!p.type || p.type === 'node' ? c.nodeList() : []), ...(!p.type || p.type === 'vm' ? c.resources() : [])]],
  ['GET', /^\/cluster\/nextid$/, (c) => c.nextId()],
  ['GET', /^\/nodes\/([^/]+)\/lxc$/, (c, [node]) => c.list(node)],
  ['POST', /^\/nodes\/([^/]+)\/lxc$/, (c, [node], p) => c.create(node, p)],
  ['GET', new RegExp(`^${CT}$`), (c, [node, vmid]) => c.index(node, +vmid)],
  ['DELETE', new RegExp(`^${CT}$`), (c, [node, vmid], p) => c.destroy(node, +vmid, p.force === '1')],
  ['GET', new RegExp(`^${CT}/config$`), (c, [node, vmid]) => c.config(node, +vmid)],
  ['PUT', new RegExp(`^${CT}/config$`), (c, [node, vmid], p) => c.setConfig(node, +vmid, p)],
  ['GET', new RegExp(`^${CT}/interfaces$`), (c, [node, vmid]) => c.interfaces(node, +vmid)],
  ['GET', new RegExp(`^${CT}/status/current$`), (c, [node, vmid]) => c.current(node, +vmid)],
  ['POST', new RegExp(`^${CT}/status/start$`), (c, [node, vmid]) => c.start(node, +vmid)],
  ['POST', new RegExp(`^${CT}/status/shutdown$`), (c, [node, vmid]) => c.stop(node, +vmid, 'vzshutdown')],
  ['POST', new RegExp(`^${CT}/status/stop$`), (c, [node, vmid]) => c.stop(node, +vmid, 'vzstop')],
  ['GET', /^\/nodes\/([^/]+)\/tasks\/([^/]+)\/status$/, (c, [node, upid]) => c.taskStatus(node, upid)],
];

/**
 * A Proxmox VE API on loopback for tests and the embedded default: the endpoints zpack uses,
 * API-token auth, form bodies, `{data}` answers, tasks that take time, and injectable faults.
 */
export class ProxmoxSimulator extends LoopbackSimulator {
  readonly faults: ProxmoxFaults;
  /** Every request received, in order, including the ones answered with an injected fault. */
  readonly requests: SimulatorRequest[] = [];
  private readonly cluster: SimulatedCluster;
  private readonly authorization: string;
  private readonly state: SimulatorStateFile<SimulatedContainer[]>;

  /** Its API base URL once started is e.g. http://127.0.0.1:18006/api2/json. */
  constructor(options: ProxmoxSimulatorOptions = {}) {
    super(options, PREFIX);
    const tokenId = options.tokenId ?? SIMULATOR_TOKEN.id;
    this.authorization = `PVEAPIToken=${tokenId}=${options.tokenSecret ?? SIMULATOR_TOKEN.secret}`;
    this.faults = new ProxmoxFaults(options.latencyMs ?? 0, options.faultSeed);
    this.cluster = new SimulatedCluster(options.nodes ?? ['pve1'], this.faults, options.taskMs ?? 20, tokenId);
    const { agentSimulatorUrl } = options;
    this.cluster.onDestroyed = (vmid) => {
      const agents = (typeof agentSimulatorUrl === 'function' ? agentSimulatorUrl() : agentSimulatorUrl)?.replace(/\/+$/, '');
      if (agents) void fetch(`${agents}/__sim/ct/${vmid}`, { method: 'DELETE', signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    };
    this.state = new SimulatorStateFile(options.stateFile);
    this.cluster.restore(this.state.load() ?? []);
  }

  /** Tasks that finished meanwhile are settled and saved first. */
  override async stop(): Promise<void> {
    this.cluster.settle();
    this.save();
    await super.stop();
  }

  containers(): SimulatedContainer[] {
    return this.cluster.containers();
  }

  /** Puts a container in place directly, e.g. one zpack did not create. */
  addContainer(container: SimulatedContainer): void {
    this.cluster.add(container);
    this.save();
  }

  /** Gives a container's eth0 another IPv4 address (a DHCP lease that moved). */
  readdress(vmid: number, ip: string): void {
    this.cluster.readdress(vmid, ip);
    this.save();
  }

  /** Forgets containers, tasks and the request log, and clears every fault. */
  reset(): void {
    this.cluster.clear();
    this.requests.length = 0;
    this.faults.clear();
    this.save();
  }

  protected failure(err: SimulatorRequestError): SimulatorAnswer {
    return answerFailure(new SimulatedFailure(err.status, err.message));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) : url.pathname;
    if (path === SEED_PATH && method === 'POST') return this.seed(req, res);
    this.requests.push({ method, path });
    const params = { ...Object.fromEntries(url.searchParams), ...(await readForm(req)) };
    await this.faults.delay();
    if (this.faults.takeDrop()) return dropConnection(req);
    if (req.headers.authorization !== this.authorization) return fail(res, new SimulatedFailure(401, 'invalid token value!'));
    const injected = this.faults.takeFailure();
    if (injected) return fail(res, new SimulatedFailure(injected, 'cluster not ready - no quorum?'));
    this.cluster.settle();
    const route = ROUTES.find(([m, pattern]) => m === method && pattern.test(path));
    if (!route) return fail(res, new SimulatedFailure(501, `Method '${method} ${PREFIX}${path}' not implemented`));
    const args = route[1].exec(path)!.slice(1).map(decodeURIComponent);
    try {
      sendSimulatorAnswer(res, { status: 200, body: { data: route[2](this.cluster, args, params) }, headers: JSON_HEADERS });
    } catch (err) {
      fail(res, err instanceof SimulatedFailure ? err : new SimulatedFailure(500, (err as Error).message));
    }
    this.save();
  }

  /**
   * The simulator's own control endpoint (not Proxmox's API, not in the request log): puts
   * containers in place as another system left them, for a sample fleet in remote mode too.
   */
  private async seed(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseJsonBody(await readBoundedBody(req, SEED_BODY_LIMIT));
    const containers = (body as { containers?: unknown })?.containers;
    if (!Array.isArray(containers) || !containers.every(isSeedContainer)) {
      return sendSimulatorAnswer(res, { status: 400, body: { error: 'invalid_containers' }, headers: JSON_HEADERS });
    }
    for (const c of containers) this.cluster.add(c);
    this.save();
    sendSimulatorAnswer(res, { status: 200, body: { seeded: containers.length }, headers: JSON_HEADERS });
  }

  private save(): void {
    // Without a state file there is nothing to write: copying every container per request would make a big fleet quadratic.
    if (!this.state.file) return;
    this.state.save(this.cluster.containers());
  }
}

/** Under /api2/json, beside Proxmox's own paths; no Proxmox path starts with `/__sim`. */
export const SEED_PATH = '/__sim/containers';
/** Ten thousand containers of a few hundred bytes each. */
const SEED_BODY_LIMIT = 16 * 1024 * 1024;

function isSeedContainer(c: unknown): c is SimulatedContainer {
  const o = c as Partial<SimulatedContainer>;
  return typeof o === 'object' && o !== null && Number.isInteger(o.vmid) && typeof o.node === 'string' && typeof o.hostname === 'string'
    && Number.isInteger(o.memory) && Number.isInteger(o.cores) && Array.isArray(o.tags) && (o.status === 'running' || o.status === 'stopped');
}

const JSON_HEADERS = { 'Content-Type': 'application/json;charset=UTF-8' };

function fail(res: ServerResponse, failure: SimulatedFailure): void {
  sendSimulatorAnswer(res, answerFailure(failure));
}

/** Proxmox puts the message in the status line (every release) and in the body (newer ones). */
function answerFailure(failure: SimulatedFailure): SimulatorAnswer {
  const body = { data: null, message: `${failure.message}\n`, ...(failure.errors ? { errors: failure.errors } : {}) };
  return { status: failure.status, body, headers: JSON_HEADERS, reason: failure.message };
}

async function readForm(req: IncomingMessage): Promise<Params> {
  const raw = await readBoundedBody(req);
  if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return {};
  return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
}
