import { PortId } from './ports';
import type { InstanceView } from './domain';

/**
 * How far a repair reaches. 1: fixes a record or a routing entry (a DNS record, a proxy
 * registration, a stale operation) and runs on its own when `controller.repairLevel` allows it.
 * 2: touches a workload (re-send an agent its payload, restart a server) and runs only once an
 * operator approves it. 3: destroys or recreates a container; only ever proposed.
 */
export type RepairLevel = 1 | 2 | 3;

/** One drift a detector found in one pass. The controller stores it as a RepairEvent. */
export interface DriftFinding {
  /** What drifted, e.g. `edge_missing`; the plugin that reports a kind repairs it through onRepair. */
  kind: string;
  instanceId?: string;
  operationId?: string;
  /**
   * What makes two findings the same drift (default `<kind>:<instanceId or operationId>`): the
   * same unresolved drift seen on the next pass updates its event instead of adding one.
   */
  subject?: string;
  level: RepairLevel;
  /** The repair this finding proposes, e.g. `edge_republish`. */
  action: string;
  /** What was seen, for the operator (and handed to onRepair as Drift.detail). */
  evidence: Record<string, unknown>;
}

/** What one detector found in one pass. */
export interface DriftReport {
  findings: DriftFinding[];
  /**
   * The instances it looked at, when it looked at only some of them (a detector that probes a
   * share of the fleet per pass); an unresolved event about any other instance stays unresolved.
   */
  examined?: readonly string[];
}

/** What every detector of one pass is given: the database read once, so no detector reads it per instance. */
export interface DriftScan {
  /** Every live (not deleted) instance. */
  readonly instances: readonly InstanceView[];
  /** Ids of the instances whose last observed readiness is true. */
  readonly ready: ReadonlySet<string>;
  /**
   * Ids of the instances whose readiness was never observed here (a server taken over from another
   * system, or readiness flags lost with Redis): not known to be ready, nor known to be down. A
   * detector must not take one of them out of service for being unready.
   */
  readonly readinessUnknown: ReadonlySet<string>;
  readonly now: Date;
  /** Aborted when the pass must stop (leadership lost, process stopping). */
  readonly signal: AbortSignal;
  /**
   * A one-off check (`zpack controller --once --dry-run`, `zpack import --verify`) rather than one
   * pass of many: a detector that asks a bounded share of the fleet per pass asks every instance,
   * since no later pass will ask the rest.
   */
  readonly everyInstance?: boolean;
}

/**
 * Compares the database with one remote system and reports what differs. A detector reads the
 * remote state in bulk (one listing per pass), never one call per instance; it changes nothing.
 * Several plugins provide one each; the controller's leader runs them all on every pass.
 */
export abstract class DriftDetector {
  static readonly port = new PortId<DriftDetector>('DriftDetector', { multiple: true });
  /** Names the detector in logs, findings and metrics: its plugin's name (the kernel's own are `kernel.<what>`). */
  abstract readonly name: string;
  /** The drift kinds it may report: an unresolved event of these kinds it no longer reports is resolved. */
  abstract readonly kinds: readonly string[];
  abstract detect(scan: DriftScan): Promise<DriftReport>;
}

/** The dedupe key of a finding. */
export const findingSubject = (f: DriftFinding): string => f.subject ?? `${f.kind}:${f.instanceId ?? f.operationId ?? '-'}`;

/**
 * Drift kinds the kernel repairs itself, because the facts they concern are the kernel's (operation
 * rows, stored addresses, the payload an agent is handed); a plugin's detector may report them.
 */
export const KernelDrift = {
  /** An unfinished operation past its deadline that no live worker holds. */
  staleOperation: 'stale_operation',
  /** A running container answers at another address than the one stored (its DHCP lease moved). */
  addressChanged: 'address_changed',
  /** An agent holds no provision payload (reported by the agent's detector; the kernel has the payload). */
  agentUnprovisioned: 'agent_unprovisioned',
  /**
   * An agent answers 401 to the instance's derived token: it predates ours (a fleet taken over). The
   * kernel provisions ours into it, with the token the import recorded, once an operator approves.
   */
  agentTokenRejected: 'agent_token_rejected',
  /**
   * A running instance's agent answers ready while the kernel holds no ready observation (its ready
   * event was lost, or the server was taken over): the kernel records it, firing onInstanceReady once.
   */
  readinessUnrecorded: 'readiness_unrecorded',
} as const;
