import type { QueueName } from '../api';

export type Role = 'api' | 'provision-worker' | 'repair-worker' | 'billing-worker' | 'controller' | 'all';
export const ROLES: Role[] = ['api', 'provision-worker', 'repair-worker', 'billing-worker', 'controller', 'all'];

/** What each process role runs. Notifications are delivered by every worker role. */
export const roleSpec: Record<Role, { http: boolean; controller: boolean; queues: QueueName[] }> = {
  api: { http: true, controller: false, queues: [] },
  'provision-worker': { http: false, controller: false, queues: ['provisioning', 'notifications'] },
  'repair-worker': { http: false, controller: false, queues: ['repair', 'notifications'] },
  'billing-worker': { http: false, controller: false, queues: ['billing', 'notifications'] },
  controller: { http: false, controller: true, queues: [] },
  all: { http: true, controller: true, queues: ['provisioning', 'repair', 'billing', 'notifications'] },
};
