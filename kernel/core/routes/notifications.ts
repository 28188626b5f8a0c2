import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { ConflictError, InvalidRequestError, NotFoundError, timestamp, nullableTimestamp } from '../../api';
import type { ApiRouter, NotificationTemplates } from '../../api';
import { audit } from '../audit';
import { Notification } from '../entities';
import { pageQuery, pageRows, paged } from '../http/paging';
import type { NotificationOutbox } from '../notifications';

interface Deps {
  ds: DataSource;
  outbox: NotificationOutbox;
  templates: NotificationTemplates;
}

const preference = z.object({
  template: z.string(),
  description: z.string(),
  enabled: z.boolean(),
});
const preferences = z.object({ preferences: z.array(preference).meta({ description: 'Every notification a customer may turn off' }) });
const states = z.enum(['pending', 'sending', 'sent', 'failed', 'undeliverable', 'suppressed']);
const outboxItem = z.object({
  id: z.uuid(),
  channel: z.string(),
  recipient: z.string(),
  template: z.string(),
  subject: z.string(),
  state: states,
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  nextAttemptAt: timestamp(),
  sentAt: nullableTimestamp(),
  createdAt: timestamp(),
  updatedAt: timestamp(),
});
const outboxView = (n: Notification) => ({
  id: n.id, channel: n.channel, recipient: n.recipient, template: n.template, subject: n.subject, state: n.state,
  attempts: n.attempts, lastError: n.lastError, nextAttemptAt: n.nextAttemptAt, sentAt: n.sentAt, createdAt: n.createdAt, updatedAt: n.updatedAt,
});

/** The caller's notification preferences, and the operators' view of the outbox. */
export function notificationRoutes(r: ApiRouter, { ds, outbox, templates }: Deps): void {
  const optional = () => templates.list().filter((t) => t.optional);
  const current = async (accountId: string) => {
    const rows: Array<{ template: string; enabled: boolean }> = await ds.query(
      `SELECT template, enabled FROM notification_preference WHERE account_id = $1`, [accountId]);
    const set = new Map(rows.map((p) => [p.template, p.enabled]));
    return { preferences: optional().map((t) => ({ template: t.name, description: t.description, enabled: set.get(t.name) ?? true })) };
  };

  r.route({
    method: 'get', path: '/api/me/notifications', summary: 'Which optional notifications the caller receives', auth: 'user', tags: ['accounts'],
    operationId: 'getNotificationPreferences', responses: { 200: preferences },
    handler: async ({ account }) => ({ body: await current(account.id) }),
  });

  r.route({
    method: 'put', path: '/api/me/notifications', summary: 'Turn optional notifications on or off', auth: 'user', tags: ['accounts'],
    operationId: 'putNotificationPreferences', responses: { 200: preferences },
    description: 'Templates not named keep their setting. Password resets, billing and support mail cannot be turned off.',
    body: z.object({ preferences: z.record(z.string().max(64), z.boolean()) }).strict(),
    handler: async ({ account, body }) => {
      const allowed = new Set(optional().map((t) => t.name));
      const bad = Object.keys(body.preferences).filter((name) => !allowed.has(name));
      if (bad.length) {
        throw new InvalidRequestError('Not a notification that can be turned off', {
          fields: bad.map((name) => ({ path: `body.preferences.${name}`, message: 'is not an optional notification' })),
        });
      }
      for (const [template, enabled] of Object.entries(body.preferences)) {
        await ds.query(`INSERT INTO notification_preference (account_id, template, enabled) VALUES ($1, $2, $3)
          ON CONFLICT (account_id, template) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()`, [account.id, template, enabled]);
      }
      return { body: await current(account.id) };
    },
  });

  r.route({
    method: 'get', path: '/api/admin/outbox', summary: 'Notifications sent or waiting, newest first', auth: 'admin', tags: ['admin'],
    operationId: 'adminListOutbox', responses: { 200: paged({ notifications: z.array(outboxItem) }) },
    query: pageQuery({
      state: states.optional(),
      template: z.string().max(64).optional().meta({ description: 'A template name, e.g. server_crashed' }),
    }),
    handler: async ({ query }) => {
      const qb = ds.getRepository(Notification).createQueryBuilder('n').where('TRUE');
      if (query.state) qb.andWhere('n.state = :state', { state: query.state });
      if (query.template) qb.andWhere('n.template = :template', { template: query.template });
      const page = await pageRows(qb, query, { column: 'created_at', direction: 'DESC' });
      return { body: { notifications: page.items.map(outboxView), nextCursor: page.nextCursor } };
    },
  });

  r.route({
    method: 'post', path: '/api/admin/outbox/:id/retry', summary: 'Send a failed or undeliverable notification again', auth: 'admin', tags: ['admin'],
    operationId: 'adminRetryOutbox', responses: { 202: z.object({ notification: outboxItem }) },
    params: z.object({ id: z.uuid() }), errors: [409],
    handler: async ({ params, account }) => {
      const retried = await outbox.retry(params.id);
      if (!retried) {
        const row = await ds.getRepository(Notification).findOneBy({ id: params.id });
        if (!row) throw new NotFoundError('Notification');
        throw new ConflictError(`Only a failed or undeliverable notification can be retried; this one is ${row.state}`, { state: row.state });
      }
      await audit(ds.manager, account.id, 'admin.outbox.retry', params.id, {});
      return { status: 202, body: { notification: outboxView(retried) } };
    },
  });
}
