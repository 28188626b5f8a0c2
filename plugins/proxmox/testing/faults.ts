import { SimulatorFaults } from '../../../kernel/api';

/**
 * Proxmox's faults on top of the shared ones: `errorRatio` answers 500 "cluster not ready - no
 * quorum?", `alreadyExists` makes a create answer "CT N already exists" even when the VMID is free.
 */
export class ProxmoxFaults extends SimulatorFaults {
  /** Next N lock-taking calls (create, start, shutdown, stop, delete) answer a config lock timeout. */
  lockTimeout = 0;
  /** Next N tasks stop with exitstatus 'command failed' (and do nothing). */
  taskError = 0;

  constructor(latencyMs = 0, seed?: number) {
    super({ latencyMs, errorStatus: 500, seed });
  }

  override clear(): void {
    super.clear();
    this.lockTimeout = this.taskError = 0;
  }
}
