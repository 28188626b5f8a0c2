import { PROXMOX_TAG } from '../config';
import { parseTags } from '../client/wire';
import type { ProxmoxFaults } from './faults';

export interface SimulatedContainer {
  vmid: number;
  node: string;
  hostname: string;
  memory: number;
  cores: number;
  rootfs: string;
  net0: string;
  tags: string[];
  status: 'running' | 'stopped';
  /** Held by a running create or destroy task, as Proxmox does. */
  lock?: string;
  /** eth0's IPv4 (loopback unless a test moves it, as a new DHCP lease would). */
  ip?: string;
}

interface SimulatedTask {
  upid: string;
  node: string;
  vmid: number;
  type: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  starttime: number;
  doneAt: number;
  fails: boolean;
  finish(ok: boolean): void;
}

/** An answer the way Proxmox fails: a status, a message and, for bad parameters, `errors`. */
export class SimulatedFailure extends Error {
  constructor(readonly status: number, message: string, readonly errors?: Record<string, string>) {
    super(message);
  }
}

type Params = Record<string, string>;
const MiB = 1024 * 1024;
const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

/** The in-memory cluster behind the simulator: containers by VMID (cluster-unique) and their tasks. */
export class SimulatedCluster {
  private readonly store = new Map<number, SimulatedContainer>();
  private readonly tasks = new Map<string, SimulatedTask>();
  private pid = 0x1000;
  /** Called when a destroy task completes: the container's agent dies with it. */
  onDestroyed: (vmid: number) => void = () => undefined;

  constructor(
    private readonly nodes: string[],
    private readonly faults: ProxmoxFaults,
    private readonly taskMs: number,
    private readonly taskUser: string,
  ) {}

  /** Finishes every task whose time has come; called before each request is answered. */
  settle(now = Date.now()): void {
    for (const task of this.tasks.values()) {
      if (task.status !== 'running' || task.doneAt > now) continue;
      task.status = 'stopped';
      task.exitstatus = task.fails ? 'command failed' : 'OK';
      task.finish(!task.fails);
    }
  }

  containers(): SimulatedContainer[] {
    return [...this.store.values()].map((c) => ({ ...c, tags: [...c.tags] }));
  }

  add(container: SimulatedContainer): void {
    this.store.set(container.vmid, { ...container, tags: [...container.tags] });
  }

  /**
   * Containers saved by an earlier run. Their tasks died with it: a create or start that was
   * running is taken as done, a destroy too (the container goes), as after a node reboot.
   */
  restore(saved: SimulatedContainer[]): void {
    for (const container of saved) {
      if (container.lock === 'destroyed') continue;
      const { lock: _interrupted, ...rest } = container;
      this.add(rest);
    }
  }

  clear(): void {
    this.store.clear();
    this.tasks.clear();
  }

  resources(): object[] {
    return [...this.store.values()].map((c) => ({
      id: `lxc/${c.vmid}`, type: 'lxc', vmid: c.vmid, node: c.node, name: c.hostname, status: c.status,
      tags: c.tags.join(';'), maxmem: c.memory * MiB, maxcpu: c.cores, template: 0,
    }));
  }

  /** eth0 gets another address, as when a DHCP lease moves. */
  readdress(vmid: number, ip: string): void {
    const c = this.store.get(vmid);
    if (!c) throw new Error(`no simulated container ${vmid}`);
    c.ip = ip;
  }

  /** GET /nodes and the `node` entries of /cluster/resources: every node online. */
  nodeList(): object[] {
    return this.nodes.map((node) => ({ id: `node/${node}`, type: 'node', node, status: 'online', level: '', maxcpu: 16, maxmem: 64 * 1024 * MiB }));
  }

  nextId(): string {
    let vmid = 100;
    while (this.store.has(vmid)) vmid++;
    return String(vmid);
  }

  list(node: string): object[] {
    this.requireNode(node);
    return [...this.store.values()].filter((c) => c.node === node)
      .map((c) => ({ vmid: c.vmid, name: c.hostname, status: c.status, tags: c.tags.join(';') }));
  }

  create(node: string, p: Params): string {
    this.requireNode(node);
    const vmid = Number(p.vmid);
    if (!Number.isInteger(vmid) || vmid < 100) throw invalid({ vmid: 'invalid VMID (100 to 999999999)' });
    if (!p.ostemplate) throw invalid({ ostemplate: 'property is missing and it is not optional' });
    const tags = parseTags(p.tags);
    const badTag = tags.find((t) => !PROXMOX_TAG.test(t));
    if (badTag) throw invalid({ tags: `invalid format - invalid tag '${badTag}'` });
    const holder = this.store.get(vmid);
    if (holder || this.faults.take('alreadyExists')) {
      throw new SimulatedFailure(500, `CT ${vmid} already exists on node '${holder?.node ?? node}'`);
    }
    this.lockTimeout(vmid);
    const container: SimulatedContainer = {
      vmid, node, hostname: p.hostname ?? `CT${vmid}`, memory: Number(p.memory ?? 512), cores: Number(p.cores ?? 1),
      rootfs: p.rootfs ?? '', net0: p.net0 ?? '', tags, status: 'stopped', lock: 'create',
    };
    this.store.set(vmid, container);
    // A failed create leaves nothing behind, as Proxmox cleans up after itself.
    return this.task(node, vmid, 'vzcreate', (ok) => (ok ? delete container.lock : this.store.delete(vmid)));
  }

  start(node: string, vmid: number): string {
    const c = this.lockable(node, vmid);
    if (c.status === 'running') throw new SimulatedFailure(500, `CT ${vmid} already running`);
    return this.task(node, vmid, 'vzstart', (ok) => { if (ok) c.status = 'running'; });
  }

  /** `shutdown` (clean) and `stop` (hard) end the same way here. */
  stop(node: string, vmid: number, type: 'vzshutdown' | 'vzstop'): string {
    const c = this.lockable(node, vmid);
    if (c.status !== 'running') throw new SimulatedFailure(500, `CT ${vmid} not running`);
    return this.task(node, vmid, type, (ok) => { if (ok) c.status = 'stopped'; });
  }

  destroy(node: string, vmid: number, force: boolean): string {
    const c = this.lockable(node, vmid);
    if (c.status === 'running' && !force) throw new SimulatedFailure(500, `CT ${vmid} is running - destroy failed`);
    c.lock = 'destroyed';
    return this.task(node, vmid, 'vzdestroy', (ok) => {
      if (!ok) return void delete c.lock;
      this.store.delete(vmid);
      this.onDestroyed(vmid);
    });
  }

  /** GET /nodes/{node}/lxc/{vmid} is a directory index of what can be asked about the container. */
  index(node: string, vmid: number): object[] {
    this.container(node, vmid);
    return ['config', 'interfaces', 'status'].map((subdir) => ({ subdir }));
  }

  config(node: string, vmid: number): object {
    const c = this.container(node, vmid);
    return {
      hostname: c.hostname, memory: c.memory, cores: c.cores, rootfs: c.rootfs, net0: c.net0, tags: c.tags.join(';'),
      unprivileged: 1, arch: 'amd64', ostype: 'debian', digest: hex8(vmid).repeat(5).toLowerCase(), ...(c.lock ? { lock: c.lock } : {}),
    };
  }

  /** PUT …/config: the memory limit and the tags are simulated; answers null, as Proxmox does. */
  setConfig(node: string, vmid: number, p: Record<string, string>): null {
    const c = this.container(node, vmid);
    if (p.tags !== undefined) {
      const tags = parseTags(p.tags);
      const bad = tags.find((t) => !PROXMOX_TAG.test(t));
      if (bad) throw new SimulatedFailure(400, 'parameter verification failed', { tags: `invalid format - invalid tag '${bad}'` });
      c.tags = tags;
    }
    if (p.memory !== undefined) {
      const memory = Number(p.memory);
      if (!Number.isInteger(memory) || memory < 16) throw new SimulatedFailure(400, 'parameter verification failed', { memory: 'value must be an integer of at least 16' });
      c.memory = memory;
    }
    return null;
  }

  current(node: string, vmid: number): object {
    const c = this.container(node, vmid);
    return { vmid, name: c.hostname, status: c.status, maxmem: c.memory * MiB, cpus: c.cores, ...(c.lock ? { lock: c.lock } : {}) };
  }

  /** Every container answers on loopback, so agent endpoints like http://127.0.0.1:7071/ct/{vmid} reach a local agent simulator. */
  interfaces(node: string, vmid: number): object[] {
    const c = this.container(node, vmid);
    if (c.status !== 'running') throw new SimulatedFailure(500, `CT ${vmid} not running`);
    const mac = `BC:24:11:${hex8(vmid).slice(2).match(/../g)!.join(':')}`;
    return [
      { name: 'lo', inet: '127.0.0.1/8', hwaddr: '00:00:00:00:00:00' },
      { name: 'eth0', inet: `${c.ip ?? '127.0.0.1'}/8`, hwaddr: mac },
    ];
  }

  taskStatus(node: string, upid: string): object {
    const task = this.tasks.get(upid);
    if (!task || task.node !== node) {
      throw new SimulatedFailure(500, `unable to open file '/var/log/pve/tasks/active' - no task ${upid} on node '${node}'`);
    }
    const { type, status, exitstatus, starttime } = task;
    return { upid, node, type, id: String(task.vmid), status, exitstatus, starttime, pid: parseInt(upid.split(':')[2], 16), user: this.taskUser };
  }

  private task(node: string, vmid: number, type: string, finish: (ok: boolean) => void): string {
    const now = Date.now();
    const pid = this.pid++;
    const upid = `UPID:${node}:${hex8(pid)}:${hex8(pid * 7)}:${hex8(Math.floor(now / 1000))}:${type}:${vmid}:${this.taskUser}:`;
    this.tasks.set(upid, {
      upid, node, vmid, type, status: 'running', starttime: Math.floor(now / 1000),
      doneAt: now + this.taskMs, fails: this.faults.take('taskError'), finish,
    });
    return upid;
  }

  private lockable(node: string, vmid: number): SimulatedContainer {
    const c = this.container(node, vmid);
    this.lockTimeout(vmid);
    if (c.lock) throw new SimulatedFailure(500, `CT ${vmid} is locked (${c.lock})`);
    return c;
  }

  private lockTimeout(vmid: number): void {
    if (this.faults.take('lockTimeout')) {
      throw new SimulatedFailure(500, `can't lock file '/run/lock/lxc/pve-config-${vmid}.conf' - got timeout`);
    }
  }

  private container(node: string, vmid: number): SimulatedContainer {
    this.requireNode(node);
    const c = this.store.get(vmid);
    if (!c || c.node !== node) throw new SimulatedFailure(500, `Configuration file 'nodes/${node}/lxc/${vmid}.conf' does not exist`);
    return c;
  }

  private requireNode(node: string): void {
    if (!this.nodes.includes(node)) {
      throw new SimulatedFailure(500, `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`);
    }
  }
}

const invalid = (errors: Record<string, string>) => new SimulatedFailure(400, 'Parameter verification failed.', errors);
