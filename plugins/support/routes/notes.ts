import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { ETAG, IF_MATCH, IF_NONE_MATCH, PayloadTooLargeError, jsonTag, nullableTimestamp, requireMatch } from '../../../kernel/api';
import type { ApiRouter } from '../../../kernel/api';
import type { SupportConfig } from '../config';
import { Note } from '../entities/note';

const noteSchema = z.object({
  note: z.object({
    content: z.string(),
    updatedAt: nullableTimestamp().meta({ description: 'null while nothing was ever saved' }),
  }),
});
const bodyOf = (n: Note | null) => ({ note: { content: n?.content ?? '', updatedAt: n?.updatedAt ?? null } });

/**
 * The user's notepad. Writes are conditional: a PUT with the If-Match of a version that is no
 * longer current is 412, so two tabs cannot silently overwrite each other. The check and the
 * write hold one lock per notepad together.
 */
export function noteRoutes(r: ApiRouter, { ds, config }: { ds: () => DataSource; config: SupportConfig }): void {
  r.route({
    method: 'get', path: '/api/notes', summary: 'Your notepad', auth: 'user', tags: ['support'],
    operationId: 'getNotes', responses: { 200: noteSchema, 304: null },
    headers: z.object({ 'If-None-Match': IF_NONE_MATCH }), responseHeaders: ETAG,
    handler: async ({ account }) => {
      const body = bodyOf(await ds().getRepository(Note).findOneBy({ accountId: account.id }));
      return { body, headers: { ETag: jsonTag(body) } };
    },
  });

  r.route({
    method: 'put', path: '/api/notes', summary: 'Save your notepad', auth: 'user', tags: ['support'],
    operationId: 'putNotes', responses: { 200: noteSchema },
    description: `At most \`notesMaxBytes\` (${config.notesMaxBytes}) UTF-8 bytes: more is 413. Send the ETag you read as If-Match: 412 when it changed since.`,
    headers: z.object({ 'If-Match': IF_MATCH }), responseHeaders: ETAG, errors: [412, 413],
    // Room for the JSON around the text and its escapes; the text itself is measured below.
    bodyLimit: config.notesMaxBytes * 6 + 1024,
    body: z.object({ content: z.string() }).strict(),
    handler: async ({ account, body, koa }) => {
      const content = body.content.replace(/\r\n?/g, '\n').replace(/\u0000/g, '');
      if (Buffer.byteLength(content, 'utf8') > config.notesMaxBytes) throw new PayloadTooLargeError(config.notesMaxBytes);
      const saved = await ds().transaction(async (m) => {
        // One writer per notepad at a time, whether or not its row exists yet.
        await m.query(`SELECT pg_advisory_xact_lock(hashtext('support_note:' || $1))`, [account.id]);
        const repo = m.getRepository(Note);
        requireMatch(koa, 'The notepad', jsonTag(bodyOf(await repo.findOneBy({ accountId: account.id }))));
        await m.query(`INSERT INTO support_note (account_id, content) VALUES ($1, $2)
          ON CONFLICT (account_id) DO UPDATE SET content = EXCLUDED.content, updated_at = now()`, [account.id, content]);
        return repo.findOneByOrFail({ accountId: account.id });
      });
      const out = bodyOf(saved);
      return { body: out, headers: { ETag: jsonTag(out) } };
    },
  });
}
