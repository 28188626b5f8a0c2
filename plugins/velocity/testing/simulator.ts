import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  dropConnection, LoopbackSimulator, parseJsonBody, readBoundedBody, sendSimulatorAnswer, SimulatorStateFile, type SimulatorAnswer, type SimulatorRequestError,
} from '../../../kernel/api';
import { BACKEND_NAME, registration, type Backend } from '../client/wire';
import { BridgeFaults } from './faults';
import { PlayerProxy, type PlayerConnection } from './player-proxy';

/** The bridge token the simulator accepts unless told otherwise. */
export const SIMULATOR_BRIDGE_TOKEN = 'velocity-simulator-token';

export interface BridgeSimulatorOptions {
  host?: string;
  /** 0 picks a free port (kept across restart()). */
  port?: number;
  /** Delay before every answer (faults.latencyMs starts here and returns here on reset). */
  latencyMs?: number;
  /** The only bearer accepted; anything else is answered 401. */
  token?: string;
  /** JSON file the registrations are kept in while zpack restarts; unset keeps them in memory. */
  stateFile?: string;
  /** The proxy's player port (Minecraft protocol) on `host`; 0 picks a free one (kept across restart()). */
  playerPort?: number;
}

export interface BridgeRequest {
  method: string;
  /** e.g. /servers/zp-5001 */
  path: string;
  at: Date;
}

/** The log keeps the latest requests only, so a long-running embedded default stays small. */
const REQUEST_LOG_LIMIT = 10_000;
const BODY_LIMIT_BYTES = 64 * 1024;
const SERVER_PATH = /^\/servers\/([^/]+)$/;

/**
 * The Velocity bridge plugin's HTTP API on loopback (see client/wire.ts): bearer auth, a backend
 * registry held in memory only, and, like the real proxy, forgotten on every restart(). Beside it,
 * the proxy's player port: Minecraft connections routed by the host name the player typed to the
 * backend whose forced hosts hold it (see PlayerProxy).
 */
export class BridgeSimulator extends LoopbackSimulator {
  readonly faults: BridgeFaults;
  /** Every request received, in order, including the ones answered with an injected fault. */
  readonly requests: BridgeRequest[] = [];
  private readonly registry = new Map<string, Backend>();
  /** Forced host → backend name: a player's route is one lookup, however many backends there are. */
  private readonly hosts = new Map<string, string>();
  private readonly authorization: string;
  private readonly state: SimulatorStateFile<Backend[]>;
  private readonly players: PlayerProxy;

  /** Its API base URL once started is e.g. http://127.0.0.1:18577. */
  constructor(options: BridgeSimulatorOptions = {}) {
    super(options);
    this.players = new PlayerProxy({ host: options.host ?? '127.0.0.1', port: options.playerPort ?? 0, route: (host) => this.routeOf(host) });
    this.authorization = `Bearer ${options.token ?? SIMULATOR_BRIDGE_TOKEN}`;
    this.faults = new BridgeFaults(options.latencyMs ?? 0);
    this.state = new SimulatorStateFile(options.stateFile);
    // The proxy kept running while zpack restarted: its registrations are still there.
    // A state file from before forced hosts holds backends without them: none.
    for (const backend of this.state.load() ?? []) this.put({ ...backend, forcedHosts: backend.forcedHosts ?? [] });
  }

  /** Listens on the bridge API and the player port; resolves with the API base URL. */
  override async start(): Promise<string> {
    const url = await super.start();
    try {
      await this.players.start();
    } catch (err) {
      await super.stop();
      throw err;
    }
    return url;
  }

  override async stop(): Promise<void> {
    await this.players.stop();
    await super.stop();
  }

  /** Where players connect (the proxy's Minecraft port), once started. */
  get playerAddress(): { host: string; port: number } {
    return this.players.address;
  }

  /** Every player connection, in order, with the host it asked for and the backend it reached (null: refused). */
  get playerConnections(): PlayerConnection[] {
    return this.players.connections;
  }

  /** The backend a player typing `host` reaches: the one whose forced hosts hold it. */
  routeOf(host: string): Backend | undefined {
    const backend = this.registry.get(this.hosts.get(host) ?? '');
    return backend && { ...backend, forcedHosts: [...backend.forcedHosts] };
  }

  /** Stops and starts again on the same ports, forgetting every backend, as a restarted Velocity does. */
  async restart(): Promise<void> {
    await this.stop();
    this.registry.clear();
    this.hosts.clear();
    this.save();
    await this.start();
  }

  backends(): Backend[] {
    return [...this.registry.values()].map((b) => ({ ...b, forcedHosts: [...b.forcedHosts] }));
  }

  /** Forgets backends, the request and player logs, and clears every fault. */
  reset(): void {
    this.registry.clear();
    this.hosts.clear();
    this.requests.length = 0;
    this.players.connections.length = 0;
    this.faults.clear();
    this.save();
  }

  protected failure(err: SimulatorRequestError): SimulatorAnswer {
    return { status: err.status, body: { error: err.code, message: err.message } };
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    this.record({ method, path, at: new Date() });
    const raw = await readBoundedBody(req, BODY_LIMIT_BYTES);
    await this.faults.delay();
    if (this.faults.takeDrop()) return dropConnection(req);
    if (req.headers.authorization !== this.authorization) return send(res, 401, { error: 'unauthorized', message: 'invalid bridge token' });
    const injected = this.faults.takeFailure();
    if (injected) return send(res, injected, { error: 'unavailable', message: 'proxy busy' });

    if (method === 'GET' && path === '/servers') return send(res, 200, { servers: this.backends() });
    const match = SERVER_PATH.exec(path);
    if (!match) return send(res, 404, { error: 'no_route', message: `${method} ${path} is not a bridge endpoint` });
    const name = decodeURIComponent(match[1]);
    if (method === 'DELETE') {
      if (!this.remove(name)) return send(res, 404, { error: 'unknown_server', message: `no server named ${name}` });
      this.save();
      return send(res, 204);
    }
    if (method !== 'PUT') return send(res, 405, { error: 'method_not_allowed', message: `${method} ${path}` });
    if (!BACKEND_NAME.test(name)) return send(res, 400, { error: 'invalid_request', message: `bad server name ${name}` });
    const parsed = registration.safeParse(parseJsonBody(raw));
    if (!parsed.success) return send(res, 400, { error: 'invalid_request', message: parsed.error.issues[0].message });
    const existed = this.registry.has(name);
    const server = { name, ...parsed.data, forcedHosts: [...new Set(parsed.data.forcedHosts)] };
    this.put(server);
    this.save();
    send(res, existed ? 200 : 201, { server });
  }

  /** Adds or replaces a backend. A host routes to one backend: claiming it here takes it from any other. */
  private put(server: Backend): void {
    // Set in place: a backend registered again keeps its position in the listing.
    this.unindex(server.name);
    for (const host of server.forcedHosts) {
      const holder = this.registry.get(this.hosts.get(host) ?? '');
      if (holder) holder.forcedHosts = holder.forcedHosts.filter((h) => h !== host);
      this.hosts.set(host, server.name);
    }
    this.registry.set(server.name, server);
  }

  private remove(name: string): boolean {
    this.unindex(name);
    return this.registry.delete(name);
  }

  private unindex(name: string): void {
    for (const host of this.registry.get(name)?.forcedHosts ?? []) if (this.hosts.get(host) === name) this.hosts.delete(host);
  }

  private save(): void {
    // Without a state file there is nothing to write: copying the whole state per request would make a big fleet quadratic.
    if (!this.state.file) return;
    this.state.save(this.backends());
  }

  private record(entry: BridgeRequest): void {
    this.requests.push(entry);
    if (this.requests.length > REQUEST_LOG_LIMIT) this.requests.splice(0, this.requests.length - REQUEST_LOG_LIMIT);
  }
}

function send(res: ServerResponse, status: number, body?: object): void {
  sendSimulatorAnswer(res, { status, body });
}
