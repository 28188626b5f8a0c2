import type { PowerAction } from '../../../kernel/api';

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
}

export interface SimContainerOptions {
  bootMs: number;
  /** Asked on every look: a test may switch it while the server boots. */
  neverReady: () => boolean;
}

/**
 * One simulated container: the agent's token (trust on first use), the provisioned payload and
 * the game server process. Time-based rather than timer-based, so nothing is left to clean up.
 */
export class SimContainer {
  token?: string;
  payload?: Record<string, unknown>;
  private current: SimServerState = 'stopped';
  private readyAt?: number;
  private startedAt?: number;
  private pid: number | null = null;
  private launches = 0;

  constructor(readonly vmid: number, private readonly options: SimContainerOptions) {}

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

  /** Stores the token and payload; a repeated provision keeps a live server as it is. */
  provision(token: string, payload: Record<string, unknown>): void {
    this.token = token;
    this.payload = payload;
    if (this.state === 'stopped' || this.state === 'crashed') this.boot();
  }

  power(action: PowerAction): void {
    switch (action) {
      case 'start':
        if (this.state === 'stopped' || this.state === 'crashed') this.boot();
        return;
      case 'restart':
        this.boot();
        return;
      case 'stop':
      case 'kill':
        this.halt();
    }
  }

  readiness(): { ready: boolean; phase: SimServerState } {
    const phase = this.state;
    return { ready: phase === 'running', phase };
  }

  status(): Record<string, unknown> {
    const state = this.state;
    const up = state === 'running' || state === 'starting';
    return {
      state,
      pid: this.pid,
      uptimeSeconds: up && this.startedAt ? Math.floor((Date.now() - this.startedAt) / 1000) : 0,
      provisioned: this.provisioned,
      payload: { type: stringOrNull(this.payload?.type), version: stringOrNull(this.payload?.version) },
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
    };
  }

  private boot(): void {
    this.current = 'starting';
    this.startedAt = Date.now();
    this.readyAt = this.startedAt + this.options.bootMs;
    this.pid = 1000 + ++this.launches;
  }

  private halt(): void {
    this.current = 'stopped';
    this.readyAt = undefined;
    this.startedAt = undefined;
    this.pid = null;
  }
}

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
