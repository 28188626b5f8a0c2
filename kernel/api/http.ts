import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { ZodType, z } from 'zod';
import type { AccountView } from './domain';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route. 'user' and 'admin' need a bearer access token; 'none' is public or
 * authenticates itself (webhook signatures, agent and proxy tokens).
 */
export type RouteAuth = 'none' | 'user' | 'admin';

export interface RequestContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  /** Set when auth is 'user' or 'admin'. */
  account: AccountView;
  sessionId: string;
  requestId: string;
  logger: Logger;
  /** The raw koa context, for streams, cookies and headers. */
  koa: Context;
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec<BS extends ZodType | undefined, QS extends ZodType | undefined, PS extends ZodType | undefined> {
  method: HttpMethod;
  /** koa-router path, e.g. "/api/servers/:id" */
  path: string;
  summary: string;
  /** Longer text for the OpenAPI operation (CommonMark). */
  description?: string;
  tags?: string[];
  auth: RouteAuth;
  /** JSON body schema; without it the body is not read (raw/stream routes read ctx.req). */
  body?: BS;
  query?: QS;
  params?: PS;
  /** Response schema, for the OpenAPI document. */
  response?: ZodType;
  /**
   * Runs before params, query and body are read: routes that authenticate themselves (agent
   * tokens, proxy tokens, webhook signatures) refuse forged calls here, before any parsing.
   */
  guard?(koa: Context): Promise<void>;
  /** Maximum body size in bytes for JSON bodies (default from config). */
  bodyLimit?: number;
  handler(
    ctx: RequestContext<
      BS extends ZodType ? z.infer<BS> : undefined,
      QS extends ZodType ? z.infer<QS> : Record<string, string>,
      PS extends ZodType ? z.infer<PS> : Record<string, string>
    >,
  ): Promise<Reply | void>;
}

/** What `ctx.routes(router => …)` hands a plugin. */
export interface ApiRouter {
  route<BS extends ZodType | undefined = undefined, QS extends ZodType | undefined = undefined, PS extends ZodType | undefined = undefined>(
    spec: RouteSpec<BS, QS, PS>,
  ): void;
}
