import { Account } from './account';
import { AuditEvent } from './audit-event';
import { Instance } from './instance';
import { CrashReport } from './crash-report';
import { ProvisioningOperation } from './operation';
import { PortAllocation, VmidAllocation } from './allocation';
import { Notification } from './notification';
import { PasswordReset } from './password-reset';
import { Session } from './session';
import { Setting } from './setting';
import { MaintenanceWindow } from './maintenance-window';
import { RepairEvent } from './repair-event';
import { ActivityEvent, ApiKey, Subuser } from './sharing';
import { BackupRecord, Schedule, ScheduleRun } from './schedule';

export { ActivityEvent, ApiKey, Subuser, BackupRecord, Schedule, ScheduleRun };
export type { ScheduleAction, ScheduleResult, ScheduleTask } from './schedule';
export { Account, AuditEvent, CrashReport, Instance, ProvisioningOperation, PortAllocation, VmidAllocation, Notification, PasswordReset, Session, Setting, MaintenanceWindow, RepairEvent };
export { accountView } from './account';
export { instanceView } from './instance';
export type { AgentTaskEvent, CrashSummary, SupervisorState } from './instance';
export const kernelEntities = [
  Account, Session, PasswordReset, AuditEvent, Notification, Setting, Instance, ProvisioningOperation, VmidAllocation, PortAllocation, CrashReport,
  MaintenanceWindow, RepairEvent,
  Subuser, ApiKey, ActivityEvent, Schedule, ScheduleRun, BackupRecord,
];
export type { RepairState } from './repair-event';
export type { Checkpoint, OperationError, OperationKind, OperationState } from './operation';
