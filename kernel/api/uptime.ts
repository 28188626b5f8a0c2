import type { CrashClass } from './domain';

/**
 * Why a server was not ready: a crash (its class), an operator maintenance window, a billing
 * suspension, an operator's stop, or `unready` when an observation found it down for no known reason.
 */
export type DowntimeCause = CrashClass | 'maintenance' | 'suspended' | 'operator_stop' | 'unready';

/** One observation of a server's readiness: from an agent event, a power action, or a controller pass. */
export interface ReadinessSample {
  instanceId: string;
  /** When it was observed; the kernel clock's now by default. */
  at?: Date;
  ready: boolean;
  /** Why it is down (ignored when ready); `unready` when not given. */
  cause?: DowntimeCause;
}

/**
 * Uptime history: every sample extends the server's current interval, rolled up per hour; a
 * ready → not-ready change opens an incident with its cause and the next ready sample closes it.
 * Samples older than the server's last one are ignored (it is a timeline, not a log).
 */
export interface UptimeRecorder {
  record(sample: ReadinessSample): Promise<void>;
}
