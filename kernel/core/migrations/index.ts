import { KernelAccounts1700000000000 } from './1700000000000-kernel-accounts';
import { KernelInstances1700000001000 } from './1700000001000-kernel-instances';
import { KernelOperations1700000002000 } from './1700000002000-kernel-operations';
import { KernelCrashes1700000003000 } from './1700000003000-kernel-crashes';
import { KernelInstanceState1700000006000 } from './1700000006000-kernel-instance-state';

export const kernelMigrations: Function[] = [KernelAccounts1700000000000, KernelInstances1700000001000, KernelOperations1700000002000, KernelCrashes1700000003000,
  KernelInstanceState1700000006000];
