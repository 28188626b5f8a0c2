import { z } from 'zod';
import type { Context } from 'koa';
import { InstanceAgent, PayloadTooLargeError, relayed, streamed } from '../../api';
import type { AgentRequest, ApiRouter, DirectResponse, HttpMethod, ResponseSpec, SuccessStatus } from '../../api';
import { capped, relay, type CappedStream } from '../files/relay';
import { fromAgentError } from '../files/agent-failures';
import { confinePath } from '../files/paths';
import { requireCurrentVersion, tagFileContent } from '../files/versions';
import { ETAG, IF_MATCH, IF_NONE_MATCH, conditional } from '../http/etag';
import { fileContentSchema, fileEntrySchema, fileListingSchema, fileWrittenSchema } from './schemas';

const relayedNoContent: DirectResponse = { direct: true, description: 'Deleted' };

interface Deps {
  agent: () => InstanceAgent;
  maxUploadBytes: number;
}

interface FileRoute {
  method: HttpMethod;
  suffix: string;
  /** Of the canonical route; the compatibility one adds `Compat`. */
  operationId: string;
  summary: string;
  mutation: boolean;
  /** Its activity-log event (writes only). */
  event?: string;
  /** The request body is a stream to pass to the agent (write, upload). */
  streamsBody: boolean;
  /** The agent's answer, relayed (304: the content the client holds is current). */
  responses: { [S in SuccessStatus]?: ResponseSpec };
}

const FILE_ROUTES: FileRoute[] = [
  { method: 'get', suffix: '/files', operationId: 'listFiles', summary: 'List a folder', mutation: false, streamsBody: false, responses: { 200: relayed(fileListingSchema) } },
  { method: 'get', suffix: '/files/stat', operationId: 'statFile', summary: 'Describe a file or folder', mutation: false, streamsBody: false, responses: { 200: relayed(fileEntrySchema) } },
  { method: 'get', suffix: '/files/content', operationId: 'readFile', summary: 'Read a text file (JSON)', mutation: false, streamsBody: false, responses: { 200: relayed(fileContentSchema), 304: null } },
  { method: 'get', suffix: '/files/download', operationId: 'downloadFile', summary: 'Download a file (stream)', mutation: false, streamsBody: false, responses: { 200: streamed('application/octet-stream', 'The file\'s bytes, with Content-Disposition') } },
  { method: 'put', suffix: '/files/content', operationId: 'writeFile', summary: 'Write a file from the raw body (streamed)', mutation: true, event: 'files.write', streamsBody: true, responses: { 200: relayed(fileWrittenSchema) } },
  { method: 'post', suffix: '/files/revert', operationId: 'revertFile', summary: 'Restore the previous version of a file', mutation: true, event: 'files.revert', streamsBody: false, responses: { 200: relayed(fileWrittenSchema) } },
  { method: 'post', suffix: '/files/upload', operationId: 'uploadFile', summary: 'Upload a file from the raw body (streamed)', mutation: true, event: 'files.upload', streamsBody: true, responses: { 201: relayed(fileWrittenSchema) } },
  { method: 'delete', suffix: '/files', operationId: 'deleteFile', summary: 'Delete a file or folder', mutation: true, event: 'files.delete', streamsBody: false, responses: { 204: relayedNoContent } },
];

/** A leading '/' is the server root; no path at all is a mistake, not the root. */
const pathQuery = z.object({
  path: z.string({ error: (i) => (i.input === undefined ? 'is required ("/" is the server root)' : 'must be a single string') })
    .meta({ description: 'Relative to the server folder; a leading / is the server folder itself' }),
});

/** Canonical and compatibility prefixes: one handler serves both, so they cannot drift apart. */
export const FILE_PREFIXES = ['/api/servers/:id', '/api/game/servers/:id'];

export function fileRoutes(r: ApiRouter, deps: Deps): void {
  for (const prefix of FILE_PREFIXES) {
    for (const route of FILE_ROUTES) {
      r.route({
        method: route.method, path: `${prefix}${route.suffix}`, summary: route.summary, auth: 'user', tags: ['files'],
        operationId: prefix === FILE_PREFIXES[0] ? route.operationId : `${route.operationId}Compat`,
        responses: route.responses, rawBody: route.streamsBody ? 'application/octet-stream' : undefined,
        errors: route.mutation ? [402, 409, 412, 413, 415, 502] : [409, 413, 415, 502],
        ...conditions(route),
        params: z.object({ id: z.uuid() }), query: pathQuery,
        server: route.mutation
          ? { permission: 'files.write', mutation: true, action: `files.${route.method}${route.suffix}`, activity: route.event }
          : { permission: 'files.read' },
        handler: async ({ query, koa, server: instance }) => {
          const path = confinePath(query.path);
          if (route.mutation && conditional(koa)) await requireCurrentVersion(koa, deps.agent(), instance, path);
          const request: AgentRequest = { method: route.method.toUpperCase() as AgentRequest['method'], path: route.suffix, query: { path } };
          const upload = route.streamsBody ? streamedBody(koa, deps.maxUploadBytes) : undefined;
          if (upload) Object.assign(request, upload);
          let answer;
          try {
            answer = await deps.agent().request(instance, request);
          } catch (err) {
            if (!upload?.body.exceeded) throw fromAgentError(err);
            // The rest of the body was never read: this connection cannot carry another request.
            koa.set('Connection', 'close');
            throw new PayloadTooLargeError(deps.maxUploadBytes);
          }
          await relay(koa, answer);
          if (route.suffix === '/files/content') tagFileContent(koa);
        },
      });
    }
  }
}

/** What a browser saves a download as, relayed from the agent. */
const ATTACHMENT = { 'Content-Disposition': 'attachment, with the file\'s name' };

/** A file's content carries its version (ETag): reads answer 304 while it holds, writes check If-Match (files/versions.ts). */
function conditions(route: FileRoute): { headers?: z.ZodObject; responseHeaders?: Record<string, string> } {
  const responseHeaders = route.suffix === '/files/content' ? ETAG : route.suffix === '/files/download' ? ATTACHMENT : undefined;
  if (route.mutation) return { headers: z.object({ 'If-Match': IF_MATCH }), responseHeaders };
  if (route.responses[304] !== undefined) return { headers: z.object({ 'If-None-Match': IF_NONE_MATCH }), responseHeaders };
  return { responseHeaders };
}

function streamedBody(koa: Context, limit: number): { body: CappedStream; headers: Record<string, string> } {
  const length = Number(koa.get('content-length') || 0);
  if (length > limit) {
    koa.req.resume();
    throw new PayloadTooLargeError(limit);
  }
  const headers: Record<string, string> = { 'content-type': koa.get('content-type') || 'application/octet-stream' };
  if (length) headers['content-length'] = String(length);
  return { body: capped(koa.req, limit), headers };
}
