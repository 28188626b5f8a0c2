import { z } from 'zod';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { InstanceAgent, PayloadTooLargeError, relayed, streamed } from '../../api';
import type { AgentRequest, ApiRouter, DirectResponse, EnforcementState, HttpMethod, SuccessStatus } from '../../api';
import { instanceView } from '../entities';
import { guardMutation } from '../billing-state';
import { capped, relay, type CappedStream } from '../files/relay';
import { fromAgentError } from '../files/agent-failures';
import { confinePath } from '../files/paths';
import type { InstanceService } from '../operations/instances';
import { fileContentSchema, fileEntrySchema, fileListingSchema, fileWrittenSchema } from './schemas';

const relayedNoContent: DirectResponse = { direct: true, description: 'Deleted' };

interface Deps {
  ds: DataSource;
  instances: InstanceService;
  agent: () => InstanceAgent;
  billingState(accountId: string): Promise<EnforcementState>;
  maxUploadBytes: number;
}

interface FileRoute {
  method: HttpMethod;
  suffix: string;
  /** Of the canonical route; the compatibility one adds `Compat`. */
  operationId: string;
  summary: string;
  mutation: boolean;
  /** The request body is a stream to pass to the agent (write, upload). */
  streamsBody: boolean;
  /** The agent's answer, relayed. */
  responses: { [S in SuccessStatus]?: DirectResponse };
}

const FILE_ROUTES: FileRoute[] = [
  { method: 'get', suffix: '/files', operationId: 'listFiles', summary: 'List a folder', mutation: false, streamsBody: false, responses: { 200: relayed(fileListingSchema) } },
  { method: 'get', suffix: '/files/stat', operationId: 'statFile', summary: 'Describe a file or folder', mutation: false, streamsBody: false, responses: { 200: relayed(fileEntrySchema) } },
  { method: 'get', suffix: '/files/content', operationId: 'readFile', summary: 'Read a text file (JSON)', mutation: false, streamsBody: false, responses: { 200: relayed(fileContentSchema) } },
  { method: 'get', suffix: '/files/download', operationId: 'downloadFile', summary: 'Download a file (stream)', mutation: false, streamsBody: false, responses: { 200: streamed('application/octet-stream', 'The file\'s bytes, with Content-Disposition') } },
  { method: 'put', suffix: '/files/content', operationId: 'writeFile', summary: 'Write a file from the raw body (streamed)', mutation: true, streamsBody: true, responses: { 200: relayed(fileWrittenSchema) } },
  { method: 'post', suffix: '/files/revert', operationId: 'revertFile', summary: 'Restore the previous version of a file', mutation: true, streamsBody: false, responses: { 200: relayed(fileWrittenSchema) } },
  { method: 'post', suffix: '/files/upload', operationId: 'uploadFile', summary: 'Upload a file from the raw body (streamed)', mutation: true, streamsBody: true, responses: { 201: relayed(fileWrittenSchema) } },
  { method: 'delete', suffix: '/files', operationId: 'deleteFile', summary: 'Delete a file or folder', mutation: true, streamsBody: false, responses: { 204: relayedNoContent } },
];

const pathQuery = z.object({
  path: z.string().optional().meta({ description: 'Relative to the server folder; a leading / is the server folder itself' }),
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
        errors: route.mutation ? [402, 409, 413, 415, 502] : [409, 413, 415, 502],
        params: z.object({ id: z.uuid() }), query: pathQuery,
        handler: async ({ params, account, koa }) => {
          const path = confinePath(koa.query.path);
          const instance = await deps.instances.owned(account, params.id);
          if (route.mutation) await guardMutation(deps.ds, account.id, await deps.billingState(account.id), 'mutation', `files.${route.method}${route.suffix}`, instance.id);
          const request: AgentRequest = { method: route.method.toUpperCase() as AgentRequest['method'], path: route.suffix, query: { path } };
          const upload = route.streamsBody ? streamedBody(koa, deps.maxUploadBytes) : undefined;
          if (upload) Object.assign(request, upload);
          let answer;
          try {
            answer = await deps.agent().request(instanceView(instance), request);
          } catch (err) {
            if (!upload?.body.exceeded) throw fromAgentError(err);
            // The rest of the body was never read: this connection cannot carry another request.
            koa.set('Connection', 'close');
            throw new PayloadTooLargeError(deps.maxUploadBytes);
          }
          await relay(koa, answer);
        },
      });
    }
  }
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
