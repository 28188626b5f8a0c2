import type { Context } from 'koa';
import type { AgentResponse, InstanceAgent, InstanceView } from '../../api';
import { answerNotModified, requireMatch } from '../http/etag';
import { fromAgentError } from './agent-failures';
import { relayedJson } from './relay';

/**
 * A file's version as the agent describes it (modification time and size, which every answer
 * about one file carries): the ETag of its content, and what `If-Match` on a write is checked
 * against, so a save from a stale editor tab is refused instead of overwriting the newer file.
 */
export function fileTag(meta: unknown): string | null {
  const { modifiedAt, sizeBytes } = (meta ?? {}) as { modifiedAt?: unknown; sizeBytes?: unknown };
  const ms = typeof modifiedAt === 'string' ? Date.parse(modifiedAt) : NaN;
  if (!Number.isFinite(ms) || typeof sizeBytes !== 'number') return null;
  return `"f${ms.toString(36)}-${sizeBytes.toString(36)}"`;
}

/** Before a conditional write: the file's current version, asked of the agent; 412 when If-Match names another. */
export async function requireCurrentVersion(koa: Context, agent: InstanceAgent, instance: InstanceView, path: string): Promise<void> {
  let answer: AgentResponse;
  try {
    answer = await agent.request(instance, { method: 'GET', path: '/files/stat', query: { path } });
  } catch (err) {
    throw fromAgentError(err);
  }
  let current: string | null = null;
  if (answer.status === 404) answer.body.resume();
  else current = fileTag(await relayedJson(answer));
  try {
    requireMatch(koa, 'The file', current);
  } catch (err) {
    // The body of the refused write is never read: this connection cannot carry another request.
    koa.set('Connection', 'close');
    koa.req.resume();
    throw err;
  }
}

/** After a file's content was read or written: its version as ETag, and a read the client already holds becomes 304. */
export function tagFileContent(koa: Context): void {
  const tag = koa.status === 200 ? fileTag(koa.body) : null;
  if (!tag) return;
  koa.set('ETag', tag);
  answerNotModified(koa);
}
