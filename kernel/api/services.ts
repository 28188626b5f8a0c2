import type { InstanceKind, InstanceState, InstanceView } from './domain';
import type { NotificationMessage, NotificationRequest } from './providers/notifier';
import type { PowerAction } from './providers/agent';
import type { QueueRef } from './queues';

export interface JobContext {
  id: string;
  name: string;
  attempt: number;
}
export type JobHandler<D = any> = (data: D, job: JobContext) => Promise<unknown>;

export interface EnqueueOptions {
  /** Deduplicates while the job is retained: use the operation id for provisioning work. */
  jobId?: string;
  delayMs?: number;
  attempts?: number;
}

/** The job registry as plugins see it. */
export interface JobQueues {
  define<D>(name: string, queue: QueueRef, handler: JobHandler<D>): void;
  enqueue<D>(queue: QueueRef, name: string, data: D, options?: EnqueueOptions): Promise<string>;
  /** Runs the job `name` every `everyMs` through a BullMQ job scheduler, once across the fleet; upserting again changes only the period. */
  repeat(queue: QueueRef, name: string, everyMs: number): Promise<void>;
}

/** Durable notifications: stored in the outbox first, then delivered by the channel's Notifier. */
export interface Notifications {
  /** Over one named channel; `to` is in that channel's terms. */
  send(channel: string, message: NotificationRequest): Promise<void>;
  /**
   * To an account holder (`to` is the account's email address), over every channel whose notifier
   * serves 'owner'. An optional template the account turned off (GET/PUT /api/me/notifications) is
   * recorded as `suppressed` and not delivered.
   */
  sendToOwner(message: NotificationRequest): Promise<void>;
  /**
   * To the people running the installation, over every channel whose notifier serves
   * 'operators'; `to` is the topic (`ops` for alerts and repairs, `support` for tickets).
   */
  sendToOperators(topic: OperatorTopic, message: Omit<NotificationRequest, 'to'>): Promise<void>;
}

/** What a template turns `data` into. Every user-written value in `html` must go through escapeHtml. */
export interface RenderedNotification {
  subject: string;
  text: string;
  html: string;
}

export interface NotificationTemplate {
  /** The stable name senders use (`server_crashed` …). */
  name: string;
  /** Shown to customers on GET /api/me/notifications. */
  description: string;
  /** A customer may turn it off; transactional mail (password reset, billing) is never optional. */
  optional: boolean;
  render(data: Record<string, unknown>): RenderedNotification;
}

/** The templates the outbox renders; the kernel defines its own, plugins add theirs (in `start`). */
export interface NotificationTemplates {
  /** A name defined twice throws. */
  define(template: NotificationTemplate): void;
  get(name: string): NotificationTemplate | undefined;
  list(): NotificationTemplate[];
}

/** HTML-escapes a value for text or a quoted attribute. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export type OperatorTopic = 'ops' | 'support';

/** Time source; tests replace it. */
export interface Clock {
  now(): Date;
}

/**
 * Per-instance agent credentials. The token is derived (HMAC of a kernel secret and the
 * instance id), so the database never holds it; the agent receives it in its provision payload
 * and uses it on both sides: control plane → agent calls and agent → control plane events.
 */
export interface AgentTokens {
  tokenFor(instanceId: string): string;
  /** Constant-time check of a presented token for this instance. */
  verify(instanceId: string, presented: string): boolean;
  /** The instance a presented token belongs to (tokens name it), or null when forged. */
  identify(presented: string): string | null;
}

export interface InstanceFilter {
  kind?: InstanceKind;
  type?: string;
  /** Any of these types; an empty list matches nothing. */
  types?: string[];
  states?: InstanceState[];
  ownerId?: string;
}

/**
 * The kernel's instances as plugins may see and annotate them. The directory a plugin resolves
 * is bound to it: it writes only its own payload section, the one named after the plugin.
 * Readiness is what the kernel last observed, never a live probe; only the kernel records it.
 */
export interface InstanceDirectory {
  get(id: string): Promise<InstanceView | null>;
  findByVmid(vmid: number): Promise<InstanceView | null>;
  /** Live (not deleted) instances matching the filter. */
  list(filter?: InstanceFilter): Promise<InstanceView[]>;
  /**
   * Shallow-merges `value` into payload[section] in one statement; other sections are untouched.
   * `section` must be the calling plugin's name, or SectionNotOwnedError is thrown.
   */
  patchSection(id: string, section: string, value: Record<string, unknown>): Promise<void>;
  /** Running instances whose last observed readiness is true (DB state + Redis, no remote calls). */
  listReady(filter?: InstanceFilter): Promise<InstanceView[]>;
  /** A read-only snapshot for diagnosis (a support ticket): state, last crash, latest operation; null when gone. */
  diagnostics(id: string): Promise<InstanceDiagnostics | null>;
}

export interface InstanceDiagnostics {
  state: InstanceState;
  node: string | null;
  lastCrash: { crashedAt: string; classification: string; exitCode: number | null; signal: string | null; logTail: string[] } | null;
  lastOperation: { id: string; kind: string; state: string; phase: string | null; error: { code: string; message: string } | null; updatedAt: string } | null;
}

/**
 * The power button, for plugins acting on a server without a request (billing suspension and
 * restore, schedules): the same agent call and state record as `POST /api/servers/:id/power`,
 * without its permission and billing checks, which the caller owns.
 */
export interface InstancePower {
  /** Tells the agent, records `stopped` or `running`; readiness is learnt again from the agent's next ready event. */
  apply(instanceId: string, action: PowerAction): Promise<'running' | 'stopped'>;
}
