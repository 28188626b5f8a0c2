import type { BackupView, PowerAction } from '../../../kernel/api';
import { SimBackups } from './sim-backups';
import { SimConsole, type SimExit } from './sim-console';
import type { SimCrash } from './sim-crash';
import type { UnpackLimits } from './archives';
import { SimDisk } from './sim-disk';
import { SimStaging, type ModpackPayload } from './sim-staging';
import { SimDevContainer } from './sim-dev';

/** Pids of a container's server process count up from here, one per launch. */
const FIRST_PID = 1000;

export type SimServerState = 'stopped' | 'starting' | 'running' | 'crashed';

/** What tests see of a simulated container: a copy, safe to keep. */
export interface SimContainerSnapshot {
  vmid: number;
  token?: string;
  provisionedPayload?: Record<string, unknown>;
  state: SimServerState;
  /** When a `starting` server turns `running` (epoch ms); unset unless it is booting or up. */
  readyAt?: number;
  pid: number | null;
  /** Console WebSockets attached right now. */
  consoles: number;
  /** The console PTY's window size, as resize frames left it. */
  terminal: { cols: number; rows: number };
}

/** What a simulator with a state folder keeps of a provisioned container across restarts. */
export interface SavedSimContainer {
  vmid: number;
  dir: string;
  token: string;
  payload?: Record<string, unknown>;
  state: SimServerState;
  backups: BackupView[];
  /**
   * The server process as it was (epoch ms, pid), so a container that kept running while the
   * control plane was stopped is found running, not booting again; absent in older state files.
   */
  process?: { startedAt: number; readyAt: number; pid: number };
}

export interface SimContainerOptions {
  bootMs: number;
  /** Asked on every look: a test may switch it while the server boots. */
  neverReady: () => boolean;
  /** This container's own folder; the server folder, archives and versions live under it. */
  dir: string;
  /** `crash` typed at the console: the simulator makes the server die and reports it. */
  crash(kind: string | undefined): void;
}

/**
 * One simulated container: the agent's token (trust on first use), the provisioned payload,
 * the game server process, its disk, backups and console. Time-based rather than timer-based,
 * so nothing but the disk is left to clean up.
 */
export class SimContainer {
  token?: string;
  payload?: Record<string, unknown>;
  readonly disk: SimDisk;
  readonly backups: SimBackups;
  readonly console: SimConsole;
  readonly staging: SimStaging;
  /** Why the modpack in the payload could not be installed; the server then never boots. */
  installError?: Record<string, unknown>;
  /** Set for a dev container (payload type `codeserver`): its runtimes and code-server. */
  dev?: SimDevContainer;
  /** What one decompress may unpack (tests lower it); undefined: DEFAULT_UNPACK_LIMITS. */
  unpackLimits?: UnpackLimits;
  private current: SimServerState = 'stopped';
  private readyAt?: number;
  private startedAt?: number;
  private pid: number | null = null;
  private launches = 0;

  constructor(readonly vmid: number, private readonly options: SimContainerOptions) {
    this.disk = new SimDisk(options.dir);
    this.backups = new SimBackups(this.disk);
    this.staging = new SimStaging(this.disk);
    this.console = new SimConsole({ state: () => this.state, stop: () => this.power('stop'), crash: (kind) => options.crash(kind), kill: () => this.power('kill') });
  }

  /**
   * A container saved by an earlier run. Stopping zpack stops the control plane, not the hosts: a
   * server that was up is still up (a booting one finishes at the time it would have), with its pid.
   * A state file from before the process was kept has only the state: that server boots again.
   */
  static restore(saved: SavedSimContainer, options: SimContainerOptions): SimContainer {
    const sim = new SimContainer(saved.vmid, options);
    sim.token = saved.token;
    sim.payload = saved.payload;
    if (saved.payload?.type === 'codeserver') sim.dev = new SimDevContainer(saved.vmid, saved.payload);
    sim.current = saved.state === 'crashed' ? 'crashed' : 'stopped';
    sim.backups.reload(saved.backups);
    if (saved.state !== 'starting' && saved.state !== 'running') return sim;
    if (!saved.process) {
      sim.boot();
      return sim;
    }
    sim.current = saved.state;
    sim.startedAt = saved.process.startedAt;
    sim.readyAt = saved.process.readyAt;
    sim.pid = saved.process.pid;
    sim.launches = Math.max(0, saved.process.pid - FIRST_PID);
    return sim;
  }

  /** What a restart keeps; undefined before provision (nothing worth keeping yet). */
  saved(): SavedSimContainer | undefined {
    if (this.token === undefined) return undefined;
    const { state } = this;
    const up = (state === 'starting' || state === 'running') && this.startedAt !== undefined && this.readyAt !== undefined && this.pid !== null;
    return {
      vmid: this.vmid, dir: this.options.dir, token: this.token, payload: this.payload, state, backups: this.backups.list(),
      ...(up ? { process: { startedAt: this.startedAt!, readyAt: this.readyAt!, pid: this.pid! } } : {}),
    };
  }

  get provisioned(): boolean {
    return this.token !== undefined;
  }

  /** `starting` turns `running` once the boot time has passed, unless the server never gets ready. */
  get state(): SimServerState {
    if (this.current === 'starting' && !this.options.neverReady() && Date.now() >= (this.readyAt ?? Infinity)) {
      this.current = 'running';
    }
    return this.current;
  }

  /** Stores the token and payload and seeds the disk; a repeated provision keeps a live server and its files. */
  async provision(token: string, payload: Record<string, unknown>): Promise<void> {
    const fresh = this.payload === undefined;
    await this.disk.seed();
    this.token = token;
    this.payload = payload;
    if (fresh && payload.modpack) {
      // A modpack is laid down before the first boot; a file that fails its hash keeps the server down.
      this.installError = undefined;
      try {
        await this.staging.installModpack(payload.modpack as ModpackPayload);
      } catch (err) {
        this.installError = (err as { body?: Record<string, unknown> }).body ?? { error: 'install_failed', reason: (err as Error).message };
        return;
      }
    }
    if (payload.type === 'codeserver' && !this.dev) this.dev = new SimDevContainer(this.vmid, payload);
    if (this.state === 'stopped' || this.state === 'crashed') this.boot();
  }

  power(action: PowerAction): void {
    switch (action) {
      case 'start':
        if (this.state === 'stopped' || this.state === 'crashed') this.boot();
        return;
      case 'restart':
        this.console.print('Stopping server');
        this.boot();
        return;
      case 'stop':
        return this.halt({ code: 0, signal: null });
      case 'kill':
        return this.halt({ code: null, signal: 'SIGKILL' });
    }
  }

  /** The server process died: its last lines reach the consoles, which then close as the PTY would. */
  crash(crash: SimCrash): void {
    for (const line of crash.logTail) this.console.print(line);
    this.current = 'crashed';
    this.readyAt = undefined;
    this.startedAt = undefined;
    this.pid = null;
    this.console.exited({ code: crash.exitCode, signal: crash.signal }, { code: 1011, reason: 'server crashed' });
  }

  uptimeSeconds(): number {
    const up = this.state === 'running' || this.state === 'starting';
    return up && this.startedAt ? Math.floor((Date.now() - this.startedAt) / 1000) : 0;
  }

  readiness(): { ready: boolean; phase: SimServerState | 'install_failed'; error?: Record<string, unknown> } {
    if (this.installError) return { ready: false, phase: 'install_failed', error: this.installError };
    const phase = this.state;
    return { ready: phase === 'running', phase };
  }

  status(): Record<string, unknown> {
    return {
      state: this.state,
      pid: this.pid,
      uptimeSeconds: this.uptimeSeconds(),
      provisioned: this.provisioned,
      resources: this.console.resources(),
      payload: { type: stringOrNull(this.payload?.type), version: stringOrNull(this.payload?.version) },
      ...this.dev?.status(),
    };
  }

  snapshot(): SimContainerSnapshot {
    return {
      vmid: this.vmid,
      token: this.token,
      provisionedPayload: this.payload && structuredClone(this.payload),
      state: this.state,
      readyAt: this.readyAt,
      pid: this.pid,
      consoles: this.console.attached,
      terminal: this.console.size,
    };
  }

  /** The container is destroyed: consoles dropped, background tars killed, its folder removed. */
  async dispose(): Promise<void> {
    this.release();
    await this.disk.remove();
  }

  /** The simulator stops but keeps the container's folder: consoles dropped, background tars killed. */
  release(): void {
    this.dev?.dispose();
    this.console.dispose();
    this.backups.dispose();
  }

  private boot(): void {
    this.current = 'starting';
    this.startedAt = Date.now();
    this.readyAt = this.startedAt + this.options.bootMs;
    this.pid = FIRST_PID + ++this.launches;
    this.console.print(`Starting minecraft server version ${stringOrNull(this.payload?.version) ?? '1.21.4'}`);
    this.console.print('Preparing level "world"');
    this.console.syncStatus();
  }

  private halt(exit: SimExit): void {
    const up = this.current === 'starting' || this.current === 'running';
    if (up && exit.signal === null) this.console.print('Stopping server');
    this.current = 'stopped';
    this.readyAt = undefined;
    this.startedAt = undefined;
    this.pid = null;
    this.console.exited(up ? exit : null, { code: 1000, reason: 'server stopped' });
  }
}

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
