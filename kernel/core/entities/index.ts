import { Account } from './account';
import { AuditEvent } from './audit-event';
import { Instance } from './instance';
import { Notification } from './notification';
import { PasswordReset } from './password-reset';
import { Session } from './session';
import { Setting } from './setting';

export { Account, AuditEvent, Instance, Notification, PasswordReset, Session, Setting };
export { accountView } from './account';
export { instanceView } from './instance';
export const kernelEntities = [Account, Session, PasswordReset, AuditEvent, Notification, Setting, Instance];
