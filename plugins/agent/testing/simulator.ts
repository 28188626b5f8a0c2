import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer } from 'ws';
import { CONSOLE_PROTOCOL_V1, LoopbackHttpServer, parseJsonBody, readBoundedBody, SimulatorStateFile, type CrashClass } from '../../../kernel/api';
import type { SimulatorOptions } from '../config';
import { SimFaults, selects } from './faults';
import type { UnpackLimits } from './archives';
import { SimRouter } from './router';
import type { SimReply, SimRoute } from './routes';
import { SimContainer, type SavedSimContainer, type SimContainerOptions, type SimContainerSnapshot } from './sim-container';
import { crashPresets, postAgentEvent, type AgentEventDelivery, type SimCrash } from './sim-crash';
import { SimGameServer } from './sim-game';
import { bearerOf, offered, refuseUpgrade, reply, sameToken, targetOf } from './sim-http';
import type { CodeServerRequestRecord } from './sim-dev';

export interface SimRequestRecord {
  vmid: number;
  method: string;
  /** Path under /ct/{vmid}, without the query. */
  path: string;
  at: Date;
}

/** The log keeps the latest requests only: the embedded default polls readiness for as long as it runs. */
const REQUEST_LOG_LIMIT = 1000;
/** JSON bodies are small; files stream and never come through the JSON reader. */
const JSON_BODY_LIMIT_BYTES = 1024 * 1024;
/** Console frames carry keystrokes and control; a bigger frame closes the console (1009). */
const CONSOLE_FRAME_LIMIT = 64 * 1024;
/** The console is not a route of the table: it is an upgrade, refused with the same rules. */
const CONSOLE_ACCESS: Pick<SimRoute, 'trustOnFirstUse' | 'unprovisioned'> = {};
/** A container's code-server, on its own root: /ct/{vmid}/codeserver/… (a real one listens on the container's port 6000). */
const CODE_SERVER_PATH = /^\/ct\/(\d+)\/codeserver(?=\/|\?|$)(.*)$/s;
/** Control endpoint of the simulator itself (not part of the agent's API). */
const SIM_CONTROL_PATH = /^\/__sim\/ct\/(\d+)$/;

const DEFAULTS: SimulatorOptions = { host: '127.0.0.1', port: 0, latencyMs: 0, bootMs: 300, gameServers: false };

export interface AgentSimulatorOptions extends SimulatorOptions {
  /**
   * Keeps containers (token, payload, power state, files and backups) here across restarts;
   * unset: a temp folder, removed on stop.
   */
  stateDir?: string;
}

/** A provisioned container's game port, when the simulator listens on game ports. */
export interface SimGamePort {
  port: number;
  /** Listening on it; false when the port could not be had (`error` says why). */
  listening: boolean;
  error?: string;
  /** Status requests it answered. */
  statusAnswers: number;
}

interface SavedAgents {
  /** Containers ever created, so a folder name is never used twice. */
  created: number;
  containers: SavedSimContainer[];
  /**
   * The port it listened on. A container's agent address (stored by the control plane) names it,
   * so the next start takes it again when it is free and no port is configured.
   */
  port?: number;
}

/**
 * Many simulated in-container agents behind one loopback port: container {vmid} answers under
 * /ct/{vmid}/…, so an instance's agent address is http://host:port/ct/{vmid}. Containers appear
 * on their first request; each gets a real folder under a temp dir when provisioned.
 */
export class AgentSimulator {
  readonly faults: SimFaults;
  readonly requests: SimRequestRecord[] = [];
  /** Every request that reached a simulated code-server, HTTP and WebSocket alike. */
  readonly codeServerRequests: CodeServerRequestRecord[] = [];
  private readonly codeServerSockets = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly options: AgentSimulatorOptions;
  private readonly state: SimulatorStateFile<SavedAgents>;
  private readonly sims = new Map<number, SimContainer>();
  private readonly games = new Map<number, { server: SimGameServer; listening: boolean; error?: string }>();
  private readonly router = new SimRouter();
  private readonly consoles = new WebSocketServer({ noServer: true, maxPayload: CONSOLE_FRAME_LIMIT, handleProtocols: () => CONSOLE_PROTOCOL_V1 });
  /** Sockets of upgrade requests: a held or upgraded socket is invisible to closeAllConnections. */
  private readonly upgrades = new Set<Duplex>();
  private readonly http = new LoopbackHttpServer({
    handle: (req, res) => this.handle(req, res),
    failure: (err) => ({ status: err.status, body: { error: err.code } }),
    upgrade: (req, socket, head) => this.upgrade(req, socket, head),
  });
  private listening = false;
  private port = 0;
  /** The port an earlier run with this state folder listened on. */
  private keptPort?: number;
  private dataDir = '';
  private created = 0;

  constructor(options: Partial<AgentSimulatorOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.faults = new SimFaults(this.options.latencyMs);
    this.state = new SimulatorStateFile(this.options.stateDir && join(this.options.stateDir, 'containers.json'));
  }

  /** http://host:port, once started. */
  get url(): string {
    return `http://${this.options.host}:${this.port}`;
  }

  /** The agent base URL of one container. */
  address(vmid: number): string {
    return `${this.url}/ct/${vmid}`;
  }

  /** The server folder of a provisioned container, for tests to arrange and inspect files. */
  rootOf(vmid: number): string {
    const sim = this.sims.get(vmid);
    if (!sim?.provisioned) throw new Error(`simulated container ${vmid} is not provisioned`);
    return sim.disk.root;
  }

  /** Lowers (or raises) what one decompress in a container may unpack, as an agent's configuration would. */
  setUnpackLimits(vmid: number, limits: UnpackLimits): void {
    const sim = this.sims.get(vmid);
    if (!sim) throw new Error(`no simulated container ${vmid}`);
    sim.unpackLimits = limits;
  }

  async start(): Promise<this> {
    const { stateDir } = this.options;
    if (stateDir) {
      this.dataDir = stateDir;
      await mkdir(stateDir, { recursive: true });
      this.load();
    } else {
      this.dataDir = await mkdtemp(join(tmpdir(), 'zpack-agent-sim-'));
    }
    try {
      this.port = await this.listen();
    } catch (err) {
      if (!stateDir) await rm(this.dataDir, { recursive: true, force: true });
      throw err;
    }
    this.listening = true;
    this.save();
    for (const sim of this.sims.values()) await this.openGamePort(sim);
    return this;
  }

  /**
   * Closes held connections and consoles too, so a fault never blocks shutdown. Every folder is
   * removed, unless the simulator has a state folder: then they stay for the next start.
   */
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    for (const socket of this.upgrades) socket.destroy();
    await Promise.all([...this.games.keys()].map((vmid) => this.closeGamePort(vmid)));
    this.save();
    if (this.options.stateDir) this.sims.forEach((sim) => sim.release());
    else await this.forgetAll();
    this.sims.clear();
    await this.http.close();
    if (!this.options.stateDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  /**
   * The game ports of provisioned containers (with `gameServers` on): each listens on
   * `<host>:<its game port>` from the provision payload and answers a Minecraft status ping
   * with the server's motd (its name) while the server is running.
   */
  gamePorts(): Map<number, SimGamePort> {
    return new Map([...this.games].map(([vmid, g]) => [vmid, { port: g.server.port, listening: g.listening, error: g.error, statusAnswers: g.server.statusAnswers }]));
  }

  /** The dev side (runtimes, code-server) of a provisioned dev container. */
  devOf(vmid: number): NonNullable<SimContainer['dev']> {
    const dev = this.provisioned(vmid).dev;
    if (!dev) throw new Error(`simulated container ${vmid} is not a dev container`);
    return dev;
  }

  containers(): Map<number, SimContainerSnapshot> {
    return new Map([...this.sims].map(([vmid, sim]) => [vmid, sim.snapshot()]));
  }

  /** Forgets every container (and its folder), the request log and the faults. */
  async reset(): Promise<void> {
    this.requests.length = 0;
    this.codeServerRequests.length = 0;
    this.faults.reset();
    await this.forgetAll();
  }

  /**
   * The server process dies (state `crashed`) and the agent reports it to the control plane
   * named in the payload, with the container's own token. Resolves with the control plane's answer.
   */
  async crash(vmid: number, crash: SimCrash = crashPresets.unexpected_exit()): Promise<AgentEventDelivery> {
    const sim = this.provisioned(vmid);
    const { exitCode, signal, logTail, uptimeSeconds = sim.uptimeSeconds() } = crash;
    sim.crash(crash);
    this.save();
    return this.report(sim, { type: 'crash', exitCode, signal, uptimeSeconds, logTail });
  }

  /** The agent tells the control plane the server is ready, as a real agent does after boot. */
  async reportReady(vmid: number): Promise<AgentEventDelivery> {
    return this.report(this.provisioned(vmid), { type: 'ready' });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const codeServer = this.codeServerOf(req, false);
    if (codeServer) return codeServer.dev ? codeServer.dev.serve(req, res, codeServer.path) : void req.socket.destroy();
    const control = SIM_CONTROL_PATH.exec(req.url ?? '');
    if (control && req.method === 'DELETE') {
      // The hosting simulator destroyed this container: its agent, files and token go with it.
      await this.forget(Number(control[1]));
      this.save();
      return reply(res, { status: 204, body: '' });
    }
    if (control && req.method === 'PUT') return reply(res, await this.seed(Number(control[1]), parseJsonBody(await readBoundedBody(req, JSON_BODY_LIMIT_BYTES))));
    const target = targetOf(req.url);
    if (!target) return reply(res, { status: 404, body: { error: 'not_found' } });
    const method = req.method ?? 'GET';
    const verdict = await this.applyFaults(target.vmid, method, target.path, req.socket);
    if (verdict === 'silent') return;
    if (verdict) return reply(res, verdict);

    const match = this.router.match(method, target.path);
    if (!match) return reply(res, { status: 404, body: { error: 'not_found' } });
    const { route, params } = match;
    const container = this.container(target.vmid);
    const bearer = bearerOf(req);
    // A streamed body is never read before the token is checked; a JSON one is, as before.
    const body = route.streamsBody ? undefined : parseJsonBody(await readBoundedBody(req, JSON_BODY_LIMIT_BYTES));
    const refused = this.authorize(container, bearer, route);
    if (refused) return reply(res, refused);
    reply(res, await route.handle({ container, body, raw: req, query: target.query, params, bearer }));
    this.save();
    await this.openGamePort(container);
  }

  /**
   * A sample fleet's agent, as the system being replaced left it: it already holds a token (ours,
   * or the old system's for an agent that predates ours) and its payload, and its server boots.
   */
  private async seed(vmid: number, body: unknown): Promise<SimReply> {
    const { token, payload } = (body ?? {}) as { token?: unknown; payload?: unknown };
    if (typeof token !== 'string' || !token || typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return { status: 400, body: { error: 'invalid_seed' } };
    }
    const container = this.container(vmid);
    await container.provision(token, payload as Record<string, unknown>);
    this.save();
    await this.openGamePort(container);
    return { status: 200, body: { seeded: vmid } };
  }

  /** A provisioned container's game port starts listening (once), if the simulator serves game ports. */
  private async openGamePort(sim: SimContainer): Promise<void> {
    if (!this.options.gameServers || !sim.provisioned || this.games.has(sim.vmid) || !this.listening) return;
    const ports = sim.payload?.ports;
    const port = Array.isArray(ports) ? (ports as Array<{ name?: unknown; port?: unknown }>).find((p) => p.name === 'game')?.port : undefined;
    if (typeof port !== 'number') return;
    const server = new SimGameServer({
      host: this.options.host, port,
      state: () => sim.state,
      motd: () => (typeof sim.payload?.motd === 'string' ? sim.payload.motd : `server ${sim.vmid}`),
      version: () => (typeof sim.payload?.version === 'string' ? sim.payload.version : '1.21.4'),
    });
    const game: { server: SimGameServer; listening: boolean; error?: string } = { server, listening: false };
    this.games.set(sim.vmid, game);
    try {
      await server.listen();
      game.listening = true;
    } catch (err) {
      // Another process holds the port: the container runs, its game port just does not answer.
      game.error = (err as Error).message;
    }
  }

  private async closeGamePort(vmid: number): Promise<void> {
    const game = this.games.get(vmid);
    this.games.delete(vmid);
    await game?.server.close();
  }

  /** GET /console upgrades to the container's PTY, under the same log, faults and token rules as any route. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    this.upgrades.add(socket);
    socket.once('close', () => this.upgrades.delete(socket));
    socket.on('error', () => socket.destroy());
    const codeServer = this.codeServerOf(req, true);
    if (codeServer) return codeServer.dev ? codeServer.dev.upgrade(this.codeServerSockets, req, socket, head) : void socket.destroy();
    const target = targetOf(req.url);
    if (!target || target.path !== '/console') return refuseUpgrade(socket, { status: 404, body: { error: 'not_found' } });
    const verdict = await this.applyFaults(target.vmid, req.method ?? 'GET', target.path, socket);
    if (verdict === 'silent') return;
    if (verdict) return refuseUpgrade(socket, verdict);
    const container = this.container(target.vmid);
    const refused = this.authorize(container, bearerOf(req), CONSOLE_ACCESS);
    if (refused) return refuseUpgrade(socket, refused);
    if (!offered(req).includes(CONSOLE_PROTOCOL_V1)) return refuseUpgrade(socket, { status: 400, body: { error: 'unsupported_protocol', supported: [CONSOLE_PROTOCOL_V1] } });
    this.consoles.handleUpgrade(req, socket, head, (ws) => container.console.attach(ws));
  }

  /** A request for a container's code-server, logged; `dev` unset when that container has none (the connection is refused). */
  private codeServerOf(req: IncomingMessage, upgrade: boolean): { dev?: SimContainer['dev']; path: string } | undefined {
    const m = CODE_SERVER_PATH.exec(req.url ?? '');
    if (!m) return undefined;
    const vmid = Number(m[1]);
    const path = m[2].startsWith('/') ? m[2] : `/${m[2]}`;
    this.codeServerRequests.push({ vmid, method: req.method ?? 'GET', path, headers: { ...req.headers }, upgrade, at: new Date() });
    if (this.codeServerRequests.length > REQUEST_LOG_LIMIT) this.codeServerRequests.splice(0, this.codeServerRequests.length - REQUEST_LOG_LIMIT);
    return { dev: this.sims.get(vmid)?.dev, path };
  }

  /** Logs the request and plays the faults; 'silent' means the socket is held or dropped, no answer. */
  private async applyFaults(vmid: number, method: string, path: string, socket: Duplex): Promise<SimReply | 'silent' | undefined> {
    this.record({ vmid, method, path, at: new Date() });
    if (selects(this.faults.unreachable, vmid)) return 'silent';
    if (selects(this.faults.dropConnections, vmid)) {
      socket.destroy();
      return 'silent';
    }
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    return this.faults.takeFailure();
  }

  /** Fails closed: before provision only trust-on-first-use routes pass; afterwards only the stored token. */
  private authorize(container: SimContainer, bearer: string | undefined, access: Pick<SimRoute, 'trustOnFirstUse' | 'unprovisioned'>): SimReply | undefined {
    if (!container.token) {
      return access.trustOnFirstUse ? undefined : access.unprovisioned ?? { status: 409, body: { error: 'not_provisioned' } };
    }
    if (!bearer || !sameToken(bearer, container.token)) return { status: 401, body: { error: 'unauthorized' } };
    return undefined;
  }

  private container(vmid: number): SimContainer {
    let sim = this.sims.get(vmid);
    if (!sim) {
      // A fresh folder name each time, so a container recreated under the same vmid never meets the old files.
      sim = new SimContainer(vmid, this.containerOptions(vmid, join(this.dataDir, `ct-${vmid}-${++this.created}`)));
      this.sims.set(vmid, sim);
    }
    return sim;
  }

  private containerOptions(vmid: number, dir: string): SimContainerOptions {
    return {
      bootMs: this.options.bootMs, dir, neverReady: () => selects(this.faults.neverReady, vmid),
      crash: (kind) => {
        const preset = kind && Object.hasOwn(crashPresets, kind) ? crashPresets[kind as CrashClass] : crashPresets.unexpected_exit;
        // The agent's report is best effort, as a real agent's is: supervision also sees the state on its next look.
        void this.crash(vmid, preset()).catch(() => undefined);
      },
    };
  }

  /** The configured port, else the one an earlier run kept (if another program took it meanwhile, a free one). */
  private async listen(): Promise<number> {
    const { port, host } = this.options;
    if (!port && this.keptPort) {
      try {
        return (await this.http.listen(this.keptPort, host)).port;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
    return (await this.http.listen(port, host)).port;
  }

  private load(): void {
    const saved = this.state.load() ?? { created: 0, containers: [] };
    this.keptPort = saved.port;
    this.created = saved.created;
    for (const c of saved.containers) this.sims.set(c.vmid, SimContainer.restore(c, this.containerOptions(c.vmid, c.dir)));
  }

  private save(): void {
    const containers = [...this.sims.values()].flatMap((sim) => sim.saved() ?? []);
    this.state.save({ created: this.created, containers, ...(this.port ? { port: this.port } : {}) });
  }

  private provisioned(vmid: number): SimContainer {
    const sim = this.sims.get(vmid);
    if (!sim?.provisioned) throw new Error(`simulated container ${vmid} is not provisioned`);
    return sim;
  }

  private async report(sim: SimContainer, event: Record<string, unknown>): Promise<AgentEventDelivery> {
    const controlPlaneUrl = sim.payload?.controlPlaneUrl;
    if (typeof controlPlaneUrl !== 'string') throw new Error(`simulated container ${sim.vmid} has no controlPlaneUrl in its payload`);
    const at = new Date().toISOString();
    return postAgentEvent(controlPlaneUrl, sim.token ?? '', { type: event.type, instanceId: sim.payload?.instanceId, ...event, at });
  }

  private async forget(vmid: number): Promise<void> {
    const sim = this.sims.get(vmid);
    this.sims.delete(vmid);
    await this.closeGamePort(vmid);
    await sim?.dispose();
  }

  private async forgetAll(): Promise<void> {
    const all = [...this.sims.values()];
    this.sims.clear();
    await Promise.all([...this.games.keys()].map((vmid) => this.closeGamePort(vmid)));
    await Promise.all(all.map((sim) => sim.dispose()));
  }

  private record(entry: SimRequestRecord): void {
    this.requests.push(entry);
    if (this.requests.length > REQUEST_LOG_LIMIT) this.requests.splice(0, this.requests.length - REQUEST_LOG_LIMIT);
  }
}
