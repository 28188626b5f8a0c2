import { BootError, HostingProvider, InstanceAgent, InstanceType, KernelQueue, portName } from '../api';
import type { PortRef, QueueRef, RoleSpec } from '../api';

/** What the process started as a role runs, with every queue resolved. */
export interface RolePlan {
  name: string;
  http: boolean;
  loops: boolean;
  queues: QueueRef[];
}

/** The role that runs everything: HTTP, every declared queue, every loop. */
export const ALL_ROLE = 'all';
/** Names `zpack` keeps for its own commands. */
export const KERNEL_COMMANDS = ['migrate', 'create-admin', 'import', 'help'];

const { provisioning, repair, billing, notifications } = KernelQueue;
/** Every kernel worker role delivers notifications too, so a fleet of any shape delivers them. */
const KERNEL_ROLES: Record<string, RoleSpec> = {
  api: { summary: 'serves the HTTP API', http: true },
  'provision-worker': { summary: 'provisions, tears down and restarts instances', queues: [provisioning, notifications] },
  'repair-worker': { summary: 'repairs and housekeeping (retention)', queues: [repair, notifications] },
  'billing-worker': { summary: 'billing jobs', queues: [billing, notifications] },
  controller: { summary: 'runs the leader-elected loops', loops: true },
  simulators: { summary: 'runs the loopback simulators for processes in simulators.mode: remote (simulate mode)' },
  [ALL_ROLE]: { summary: 'everything in one process: HTTP, every queue, every loop (the default)', http: true, loops: true },
};

/** Process roles: the kernel's, then the ones plugins define. */
export class RoleRegistry {
  private readonly roles = new Map<string, { owner: string; spec: RoleSpec }>();

  constructor() {
    for (const [name, spec] of Object.entries(KERNEL_ROLES)) this.roles.set(name, { owner: 'kernel', spec });
  }

  define(owner: string, name: string, spec: RoleSpec): void {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new BootError(`plugin "${owner}": role name "${name}" must be lower-case letters, digits and dashes`, 'invalid_role');
    const prior = this.roles.get(name)?.owner ?? (KERNEL_COMMANDS.includes(name) ? 'kernel' : undefined);
    if (prior) throw new BootError(`role "${name}" of plugin "${owner}" is already taken by ${prior === 'kernel' ? 'the kernel' : `plugin "${prior}"`}`, 'role_defined_twice');
    this.roles.set(name, { owner, spec });
  }

  has(name: string): boolean {
    return this.roles.has(name);
  }

  list(): Array<{ name: string; summary: string }> {
    return [...this.roles].map(([name, { spec }]) => ({ name, summary: spec.summary ?? '' }));
  }

  /**
   * The plan of a configured role; an unknown name stops boot listing the registered ones.
   * `joining`: the plugins' queues that asked this role to work them too (QueueOptions.workedBy).
   */
  plan(name: string, declared: QueueRef[], joining: QueueRef[] = []): RolePlan {
    const role = this.roles.get(name);
    if (!role) {
      throw new BootError(`unknown role "${name}" (from zpack <role>, ZPACK_ROLE or role: in config); registered roles: ${[...this.roles.keys()].join(', ')}`,
        'unknown_role');
    }
    const { spec } = role;
    const queues = name === ALL_ROLE ? declared : [...new Set([...(spec.queues ?? []), ...joining])];
    return { name, http: spec.http ?? false, loops: spec.loops ?? false, queues };
  }
}

/**
 * Once a type can be created, the provisioning queue cannot work without a host and an agent:
 * a role that works it fails boot naming the missing port, instead of a 503 on each job.
 */
export function requireProvisioningPorts(plan: RolePlan, isBound: (port: PortRef<unknown>) => boolean): void {
  if (!plan.queues.includes(KernelQueue.provisioning) || !isBound(InstanceType)) return;
  for (const port of [HostingProvider, InstanceAgent]) {
    if (isBound(port)) continue;
    throw new BootError(`role ${plan.name} works the provisioning queue, which needs ${portName(port)}; no enabled plugin provides it`, 'port_unbound');
  }
}

/** The queues a plan works that have jobs, those that have none, and the loops it runs. */
export function workOf(plan: RolePlan, hasJobs: (queue: QueueRef) => boolean, loops: string[]) {
  return {
    queues: plan.queues.filter(hasJobs).map((q) => q.name),
    idleQueues: plan.queues.filter((q) => !hasJobs(q)).map((q) => q.name),
    loops: plan.loops ? loops : [],
  };
}
