import { KernelAccounts1700000000000 } from './1700000000000-kernel-accounts';
import { KernelInstances1700000001000 } from './1700000001000-kernel-instances';
import { KernelOperations1700000002000 } from './1700000002000-kernel-operations';
import { KernelCrashes1700000003000 } from './1700000003000-kernel-crashes';
import { KernelOpenKinds1700000005000 } from './1700000005000-kernel-open-kinds';
import { KernelInstanceState1700000006000 } from './1700000006000-kernel-instance-state';
import { KernelLoopFences1700000010000 } from './1700000010000-kernel-loop-fences';
import { KernelPluginOperations1700000011000 } from './1700000011000-kernel-plugin-operations';
import { KernelFleetImport1700000012000 } from './1700000012000-kernel-fleet-import';
import { KernelRepairEvents1700000200000 } from './1700000200000-kernel-repair-events';
import { KernelOutboxMaintenance1700000400000 } from './1700000400000-kernel-outbox-maintenance';
import { KernelServerManagement1700000500000 } from './1700000500000-kernel-server-management';
import { KernelCrashCulprit1700000600000 } from './1700000600000-kernel-crash-culprit';
import { KernelUptime1700000700000 } from './1700000700000-kernel-uptime';
import { KernelFleetImportAgentToken1700000820000 } from './1700000820000-kernel-fleet-import-agent-token';
import { KernelCreateFunctions1700000830000 } from './1700000830000-kernel-create-functions';
import { KernelAllocationHint1700000840000 } from './1700000840000-kernel-allocation-hint';

/** Kernel migrations, oldest first (one per line, so branches adding one merge cleanly). */
export const kernelMigrations: Function[] = [
  KernelAccounts1700000000000,
  KernelInstances1700000001000,
  KernelOperations1700000002000,
  KernelCrashes1700000003000,
  KernelOpenKinds1700000005000,
  KernelInstanceState1700000006000,
  KernelLoopFences1700000010000,
  KernelPluginOperations1700000011000,
  KernelFleetImport1700000012000,
  KernelRepairEvents1700000200000,
  KernelOutboxMaintenance1700000400000,
  KernelServerManagement1700000500000,
  KernelCrashCulprit1700000600000,
  KernelUptime1700000700000,
  KernelFleetImportAgentToken1700000820000,
  KernelCreateFunctions1700000830000,
  KernelAllocationHint1700000840000,
];
