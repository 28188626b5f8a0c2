import type { Instance, ProvisioningOperation } from '../entities';

/** The operation as API.md shows it; checkpoint, lease and plan stay internal. */
export function operationView(op: ProvisioningOperation) {
  return {
    id: op.id, kind: op.kind, state: op.state, phase: op.phase, instanceId: op.instanceId,
    error: op.error, report: op.kind === 'delete' ? (op.checkpoint.steps ?? []) : undefined,
    createdAt: op.createdAt, updatedAt: op.updatedAt,
  };
}

/** A server as the portal sees it; the agent address and token hash never leave. */
export function serverView(i: Instance) {
  return {
    id: i.id, kind: i.kind, type: i.type, name: i.name, state: i.state, vmid: i.vmid, node: i.node,
    ports: i.ports, createdAt: i.createdAt, updatedAt: i.updatedAt,
  };
}
