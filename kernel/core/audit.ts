import type { EntityManager } from 'typeorm';
import { AuditEvent } from './entities';

export async function audit(m: EntityManager, actorId: string | null, action: string, target: string | null, detail: object = {}): Promise<void> {
  await m.getRepository(AuditEvent).save(m.getRepository(AuditEvent).create({ actorId, action, target, detail: { ...detail } }));
}
