import type { ApiKeyCredential } from './access';
/** Plain shapes that cross the kernel/plugin boundary. Entities stay inside kernel/core. */

export type Role = 'user' | 'admin';
/**
 * A family of instance types ('game', 'dev' …), declared by each InstanceType: the kernel accepts
 * the kinds its enabled types declare, and keeps no list of its own.
 */
export type InstanceKind = string;
export type InstanceState =
  | 'provisioning' | 'running' | 'stopped' | 'crashed' | 'error' | 'deleting' | 'deleted';

export interface AccountView {
  id: string;
  email: string;
  role: Role;
  billingExempt: boolean;
  /** Set when the request came with a personal API key (`zpk_…`): its scopes bound what it may do. */
  credential?: ApiKeyCredential;
}

export interface PortBinding {
  name: string;        // e.g. "game", "query", "ide"
  port: number;        // host-side port allocated from the configured range
  protocol: 'tcp' | 'udp';
}

export interface InstanceView {
  id: string;
  ownerId: string;
  kind: InstanceKind;
  type: string;
  name: string;
  state: InstanceState;
  vmid: number | null;
  node: string | null;
  /** Base URL of the in-container agent, from HostingProvider.address(). */
  address: string | null;
  /** The container's own address (IP or hostname), from HostingProvider.address(). */
  host: string | null;
  ports: PortBinding[];
  /**
   * Sections owned by plugins, keyed by plugin name; each plugin writes only its own
   * (InstanceDirectory.patchSection). The kernel keeps its own state elsewhere.
   */
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** What beforeProvision taps fill in; the provision worker executes it. */
export interface ProvisionPlan {
  account: AccountView;
  kind: InstanceKind;
  type: string;
  name: string;
  options: Record<string, unknown>;
  template?: string;
  memoryMb?: number;
  cores?: number;
  diskGb?: number;
  /** Named ports the instance needs; the kernel allocates host ports for each. */
  portNeeds: Array<{ name: string; protocol: 'tcp' | 'udp' }>;
  /** Handed to the in-container agent at provision time. */
  agentPayload: Record<string, unknown>;
  /**
   * What the customer chose that plans limit (BillingGate.entitlementsOf): the type fills it, the
   * kernel checks it before the operation is stored.
   */
  choices?: PlanChoices;
  /**
   * The instance's first payload sections, keyed by plugin name (each tap fills only its own):
   * what a type or plugin decided at plan time and needs again once the instance exists.
   */
  payload?: Record<string, Record<string, unknown>>;
}

/** A request's answers to a plan's limits: a flavor, a memory size (before the type's overheads), mods. */
export interface PlanChoices {
  flavor?: string;
  memoryMb?: number;
  mods?: boolean;
}

export type CrashClass =
  | 'oom' | 'mod_or_plugin_error' | 'missing_dependency' | 'nonzero_exit' | 'unexpected_exit';

/**
 * What the kernel keeps of an agent's crash log: the newest lines, each cut to a readable
 * length. Classifiers may rely on it and must still stay linear in their input.
 */
export const CRASH_LOG_TAIL = { maxLines: 200, maxLineChars: 4096 } as const;

/** What a crash's log tail blames, as its type reads it: a mod or plugin by the name the log gives. */
export interface CrashCulprit {
  name: string;
  /** A dependency the log says is missing. */
  missing?: string;
}

export interface CrashInfo {
  at: Date;
  exitCode: number | null;
  signal: string | null;
  uptimeSeconds: number;
  /** At most CRASH_LOG_TAIL.maxLines lines of at most CRASH_LOG_TAIL.maxLineChars each. */
  logTail: string[];
  classification?: CrashClass;
  /** Set by the kernel from the type's crashCulprit, for onCrash taps. */
  culprit?: CrashCulprit | null;
}

export type StepOutcome = 'done' | 'already_gone' | 'skipped' | 'failed';
export interface TeardownStep {
  step: string;
  outcome: StepOutcome;
  error?: string;
  at: string;
}
/** Each onTeardown tap appends its step; the report is stored on the delete operation. */
export interface TeardownReport {
  steps: TeardownStep[];
  record(step: string, outcome: StepOutcome, error?: string): void;
}

export type EnforcementState = 'active' | 'warning' | 'final_warning' | 'suspended';

export interface Drift {
  kind: string;            // e.g. "stale_operation", "edge_missing", "proxy_missing"
  instanceId?: string;
  operationId?: string;
  detail: Record<string, unknown>;
}
export interface RepairResult {
  action: string;
  ok: boolean;
  detail?: Record<string, unknown>;
}
