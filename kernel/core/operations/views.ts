import type { PlayerAddress } from '../../api';
import type { Instance, ProvisioningOperation } from '../entities';

/** The operation as API.md shows it; checkpoint, lease and plan stay internal. */
export function operationView(op: ProvisioningOperation) {
  return {
    id: op.id, kind: op.kind, state: op.state, phase: op.phase, instanceId: op.instanceId,
    error: op.error, report: op.kind === 'delete' ? (op.checkpoint.steps ?? []) : undefined,
    createdAt: op.createdAt, updatedAt: op.updatedAt,
  };
}

/**
 * A server as the portal sees it; the agent address and token hash never leave. `connect` is
 * where players join (from the edge provider, when one is enabled and has published it).
 */
export function serverView(i: Instance, connect: PlayerAddress | null) {
  return {
    id: i.id, kind: i.kind, type: i.type, name: i.name, state: i.state, vmid: i.vmid, node: i.node,
    ports: i.ports, connect, createdAt: i.createdAt, updatedAt: i.updatedAt,
  };
}
