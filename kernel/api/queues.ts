/**
 * A job queue, as a typed handle. The kernel's queues are the `KernelQueue` refs; a plugin gets
 * its own from `ctx.queues.declare(name)`, named `<plugin>.<name>` so no two plugins share one.
 * Roles say which queues a process works (`ctx.roles.define`); `all` works every queue.
 */
export interface QueueRef {
  /** The real (BullMQ) queue name. */
  readonly name: string;
  /** `kernel`, or the plugin that declared it. */
  readonly owner: string;
}

export interface QueueOptions {
  /** Jobs of this queue one process runs at once (default 4). */
  concurrency?: number;
  /**
   * Kernel roles that work this queue besides `all` (e.g. `billing-worker` for a billing plugin's
   * queue), so a fleet already running that role needs no new one.
   */
  workedBy?: string[];
}

const kernelQueue = (name: string): QueueRef => Object.freeze({ name, owner: 'kernel' });

/** The kernel's own queues; each is worked by its role (`provision-worker` …) and by `all`. */
export const KernelQueue = Object.freeze({
  /** Provisioning, teardown and supervised restarts; needs HostingProvider and InstanceAgent. */
  provisioning: kernelQueue('provisioning'),
  /** Repairs and housekeeping (retention). */
  repair: kernelQueue('repair'),
  billing: kernelQueue('billing'),
  /** Delivery of the notification outbox; every kernel worker role works it. */
  notifications: kernelQueue('notifications'),
});
