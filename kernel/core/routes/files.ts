import { z } from 'zod';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { InstanceAgent, PayloadTooLargeError } from '../../api';
import type { AgentRequest, ApiRouter, EnforcementState, HttpMethod } from '../../api';
import { instanceView } from '../entities';
import { guardMutation } from '../billing-state';
import { capped, relay, type CappedStream } from '../files/relay';
import { fromAgentError } from '../files/agent-failures';
import { confinePath } from '../files/paths';
import { requireCurrentVersion, tagFileContent } from '../files/versions';
import { conditional } from '../http/etag';
import type { InstanceService } from '../operations/instances';

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
  summary: string;
  mutation: boolean;
  /** The request body is a stream to pass to the agent (write, upload). */
  streamsBody: boolean;
}

const FILE_ROUTES: FileRoute[] = [
  { method: 'get', suffix: '/files', summary: 'List a folder', mutation: false, streamsBody: false },
  { method: 'get', suffix: '/files/stat', summary: 'Describe a file or folder', mutation: false, streamsBody: false },
  { method: 'get', suffix: '/files/content', summary: 'Read a text file (JSON)', mutation: false, streamsBody: false },
  { method: 'get', suffix: '/files/download', summary: 'Download a file (stream)', mutation: false, streamsBody: false },
  { method: 'put', suffix: '/files/content', summary: 'Write a file from the raw body (streamed)', mutation: true, streamsBody: true },
  { method: 'post', suffix: '/files/revert', summary: 'Restore the previous version of a file', mutation: true, streamsBody: false },
  { method: 'post', suffix: '/files/upload', summary: 'Upload a file from the raw body (streamed)', mutation: true, streamsBody: true },
  { method: 'delete', suffix: '/files', summary: 'Delete a file or folder', mutation: true, streamsBody: false },
];

/** A leading '/' is the server root; no path at all is a mistake, not the root. */
const pathQuery = z.object({ path: z.string({ error: (i) => (i.input === undefined ? 'is required ("/" is the server root)' : 'must be a single string') }) });

/** Canonical and compatibility prefixes: one handler serves both, so they cannot drift apart. */
export const FILE_PREFIXES = ['/api/servers/:id', '/api/game/servers/:id'];

export function fileRoutes(r: ApiRouter, deps: Deps): void {
  for (const prefix of FILE_PREFIXES) {
    for (const route of FILE_ROUTES) {
      r.route({
        method: route.method, path: `${prefix}${route.suffix}`, summary: route.summary, auth: 'user', tags: ['files'],
        params: z.object({ id: z.uuid() }), query: pathQuery,
        handler: async ({ params, query, account, koa }) => {
          const path = confinePath(query.path);
          const instance = await deps.instances.owned(account, params.id);
          if (route.mutation) await guardMutation(deps.ds, account.id, await deps.billingState(account.id), 'mutation', `files.${route.method}${route.suffix}`, instance.id);
          if (route.mutation && conditional(koa)) await requireCurrentVersion(koa, deps.agent(), instanceView(instance), path);
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
          if (route.suffix === '/files/content') tagFileContent(koa);
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
