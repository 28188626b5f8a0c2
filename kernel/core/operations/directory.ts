import type { DataSource } from 'typeorm';
import { SectionNotOwnedError } from '../../api';
import type { InstanceDiagnostics, InstanceDirectory, InstanceFilter, InstanceView } from '../../api';
import { Instance, ProvisioningOperation, instanceView } from '../entities';
import type { InstanceReadiness } from './readiness';

/** Where plugin hosts find the kernel's directory to bind each plugin's own view of it. */
export const KernelDirectoryToken = Symbol('zpack.core.instance-directory');

/**
 * Postgres holds instances; readiness comes from the kernel's readiness record. The kernel reads
 * through this directory; each plugin gets its own view (`forPlugin`) that writes only the payload
 * section named after it.
 */
export class KernelInstanceDirectory {
  constructor(
    private readonly ds: DataSource,
    private readonly readiness: InstanceReadiness,
  ) {}

  async get(id: string): Promise<InstanceView | null> {
    const i = await this.ds.getRepository(Instance).findOneBy({ id });
    return i && !i.deletedAt ? instanceView(i) : null;
  }

  async findByVmid(vmid: number): Promise<InstanceView | null> {
    const i = await this.ds.getRepository(Instance).createQueryBuilder('i').where('i.vmid = :vmid AND i.deleted_at IS NULL', { vmid }).getOne();
    return i ? instanceView(i) : null;
  }

  async list(filter: InstanceFilter = {}): Promise<InstanceView[]> {
    const q = this.ds.getRepository(Instance).createQueryBuilder('i').where('i.deleted_at IS NULL');
    if (filter.kind) q.andWhere('i.kind = :kind', { kind: filter.kind });
    if (filter.type) q.andWhere('i.type = :type', { type: filter.type });
    if (filter.types) {
      if (!filter.types.length) return [];
      q.andWhere('i.type IN (:...types)', { types: filter.types });
    }
    if (filter.ownerId) q.andWhere('i.owner_id = :owner', { owner: filter.ownerId });
    if (filter.states?.length) q.andWhere('i.state IN (:...states)', { states: filter.states });
    return (await q.orderBy('i.created_at', 'ASC').getMany()).map(instanceView);
  }

  async listReady(filter: InstanceFilter = {}): Promise<InstanceView[]> {
    const running = await this.list({ ...filter, states: ['running'] });
    const flags = await this.readiness.flags(running.map((i) => i.id));
    return running.filter((_, n) => flags[n]);
  }

  async diagnostics(id: string): Promise<InstanceDiagnostics | null> {
    const i = await this.ds.getRepository(Instance).findOneBy({ id });
    if (!i || i.deletedAt) return null;
    const op = await this.ds.getRepository(ProvisioningOperation).findOne({ where: { instanceId: id }, order: { createdAt: 'DESC' } });
    const crash = i.lastCrash;
    return {
      state: i.state, node: i.node,
      lastCrash: crash && { crashedAt: crash.crashedAt, classification: crash.classification, exitCode: crash.exitCode, signal: crash.signal, logTail: crash.logTail },
      lastOperation: op && {
        id: op.id, kind: op.kind, state: op.state, phase: op.phase ?? null, updatedAt: op.updatedAt.toISOString(),
        error: op.error ? { code: op.error.code, message: op.error.message } : null,
      },
    };
  }

  /** The directory as `plugin` sees it: reads as the kernel's, writes only payload[plugin] (null: no section at all). */
  forPlugin(plugin: string | null): InstanceDirectory {
    return {
      get: (id) => this.get(id),
      findByVmid: (vmid) => this.findByVmid(vmid),
      list: (filter) => this.list(filter),
      listReady: (filter) => this.listReady(filter),
      diagnostics: (id) => this.diagnostics(id),
      patchSection: async (id, section, value) => {
        if (section !== plugin) throw new SectionNotOwnedError(plugin ?? 'kernel', section);
        await this.ds.query(
          `UPDATE instance SET payload = jsonb_set(payload, ARRAY[$2::text], COALESCE(payload->$2, '{}'::jsonb) || $3::jsonb), updated_at = now() WHERE id = $1`,
          [id, section, JSON.stringify(value)],
        );
      },
    };
  }
}
