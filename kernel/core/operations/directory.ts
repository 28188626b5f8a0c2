import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { InstanceDirectory, InstanceFilter, InstanceView } from '../../api';
import { Instance, instanceView } from '../entities';

const SECTION = /^[a-z][a-zA-Z0-9_]{0,39}$/;

/**
 * Postgres holds instances; Redis holds last observed readiness, set and cleared at each
 * transition (ready, crash, stop, delete), so rehydration never has to ask a container.
 */
export class KernelInstanceDirectory implements InstanceDirectory {
  constructor(
    private readonly ds: DataSource,
    private readonly redis: Redis,
    private readonly prefix: string,
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

  async patchSection(id: string, section: string, value: Record<string, unknown>): Promise<void> {
    if (!SECTION.test(section)) throw new Error(`invalid payload section "${section}"`);
    await this.ds.query(
      `UPDATE instance SET payload = jsonb_set(payload, ARRAY[$2::text], COALESCE(payload->$2, '{}'::jsonb) || $3::jsonb), updated_at = now() WHERE id = $1`,
      [id, section, JSON.stringify(value)],
    );
  }

  async setReady(id: string, ready: boolean): Promise<void> {
    const key = this.key(id);
    if (ready) await this.redis.set(key, '1');
    else await this.redis.del(key);
  }

  async listReady(filter: InstanceFilter = {}): Promise<InstanceView[]> {
    const running = await this.list({ ...filter, states: ['running'] });
    if (!running.length) return [];
    const flags = await this.redis.mget(running.map((i) => this.key(i.id)));
    return running.filter((_, n) => flags[n] === '1');
  }

  private key(id: string): string {
    return `${this.prefix}:ready:${id}`;
  }
}
