import { Readable } from 'node:stream';
import { z } from 'zod';
import { InstanceAgent, relayed } from '../../api';
import type { ApiRouter, ServerRouteAccess, SuccessStatus } from '../../api';
import { relay } from '../files/relay';
import { fromAgentError } from '../files/agent-failures';
import { confinePath } from '../files/paths';
import { FILE_PREFIXES } from './files';

/** A client path, confined as the file routes' `path` query is; a refusal names the body field. */
const path = (field: string) => z.string().min(1).max(1024).transform((raw, ctx) => {
  try {
    return confinePath(raw);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${field} must lie under the server root ("/" is the root)` });
    return z.NEVER;
  }
});
const paths = (field: string) => z.array(path(field)).min(1).max(500);

interface Operation {
  suffix: string;
  operationId: string;
  summary: string;
  body: z.ZodObject;
  status: SuccessStatus;
  answer: z.ZodType;
  event: string;
  errors: Array<409 | 413>;
}

const OPERATIONS: Operation[] = [
  {
    suffix: '/files/rename', operationId: 'renameFile', summary: 'Rename or move a file or folder (409 onto an existing path)', status: 200,
    body: z.object({ from: path('from'), to: path('to') }).strict(), answer: z.object({ from: z.string(), to: z.string() }), event: 'files.rename', errors: [409],
  },
  {
    suffix: '/files/copy', operationId: 'copyFile', summary: 'Copy a file or folder beside itself (`name copy`)', status: 201,
    body: z.object({ path: path('path') }).strict(), answer: z.object({ path: z.string() }), event: 'files.copy', errors: [409],
  },
  {
    suffix: '/files/mkdir', operationId: 'makeFolder', summary: 'Make a folder (and its parents)', status: 201,
    body: z.object({ path: path('path') }).strict(), answer: z.object({ path: z.string() }), event: 'files.mkdir', errors: [409],
  },
  {
    suffix: '/files/compress', operationId: 'compressFiles', summary: 'Pack files and folders into a .tar.gz or .zip', status: 201,
    body: z.object({ paths: paths('paths'), archive: path('archive') }).strict(), answer: z.object({ path: z.string(), sizeBytes: z.number() }),
    event: 'files.compress', errors: [409],
  },
  {
    suffix: '/files/decompress', operationId: 'decompressFile', summary: 'Unpack an archive beside itself (unsafe entries and bombs refused whole)', status: 200,
    body: z.object({ path: path('path') }).strict(), answer: z.object({ path: z.string(), extracted: z.array(z.string()) }), event: 'files.decompress', errors: [409, 413],
  },
  {
    suffix: '/files/delete', operationId: 'deleteFiles', summary: 'Delete many files and folders in one call', status: 200,
    body: z.object({ paths: paths('paths') }).strict(), answer: z.object({ deleted: z.array(z.string()), missing: z.array(z.string()) }), event: 'files.delete', errors: [409],
  },
];

/** File operations beyond read and write; the agent does them, every path confined here first. */
export function fileOperationRoutes(r: ApiRouter, deps: { agent: () => InstanceAgent }): void {
  for (const prefix of FILE_PREFIXES) {
    for (const op of OPERATIONS) {
      const server: ServerRouteAccess = { permission: 'files.write', mutation: true, action: op.event, activity: op.event };
      r.route({
        method: 'post', path: `${prefix}${op.suffix}`, summary: op.summary, auth: 'user', tags: ['files'],
        operationId: prefix === FILE_PREFIXES[0] ? op.operationId : `${op.operationId}Compat`,
        responses: { [op.status]: relayed(op.answer) }, errors: [402, ...op.errors, 502],
        params: z.object({ id: z.uuid() }), body: op.body, server,
        handler: async ({ body, koa, server: instance }) => {
          const json = Buffer.from(JSON.stringify(body));
          const answer = await deps.agent().request(instance, {
            method: 'POST', path: op.suffix, headers: { 'content-type': 'application/json', 'content-length': String(json.length) }, body: Readable.from([json]),
          }).catch((err: unknown) => { throw fromAgentError(err); });
          await relay(koa, answer);
        },
      });
    }
  }
}
