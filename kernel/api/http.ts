import type { Readable } from 'node:stream';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { z, type ZodType } from 'zod';
import type { AccountView, InstanceView } from './domain';
import type { AccessOptions, ApiKeyScope, ServerAccessLevel } from './access';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * A bearer token the route checks itself, in its `guard` or handler (an agent's token, a proxy's
 * token). `scheme` names the OpenAPI security scheme; routes sharing a scheme share its description.
 */
export interface TokenAuth {
  scheme: string;
  description: string;
}

/**
 * Who may call a route. 'user' and 'admin' need a bearer access token; 'none' is public or
 * signed (webhooks); a TokenAuth is a bearer token of its own (agent, proxy).
 */
export type RouteAuth = 'none' | 'user' | 'admin' | TokenAuth;

export interface RequestContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  /** Set when auth is 'user' or 'admin'. */
  account: AccountView;
  sessionId: string;
  /** The server the route's `server` declaration checked access to (undefined on other routes). */
  server: InstanceView;
  /** The caller's address (X-Forwarded-For only behind a trusted proxy). */
  ip: string;
  requestId: string;
  logger: Logger;
  /** The raw koa context, for streams, cookies and headers. */
  koa: Context;
}

/** What the router applies to the koa response; handlers return the typed `ReplyFor` of their spec. */
export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A success answer the handler writes itself: a stream, text, or an agent's answer relayed
 * through koa. Documented with its content type (and schema when JSON); the test suite checks it
 * against the document, the compiler cannot.
 */
export interface DirectResponse {
  direct: true;
  /** Absent: no body (a relayed 204). */
  contentType?: string;
  schema?: ZodType;
  description?: string;
}

/** Raw bytes (a download), or text such as Prometheus metrics. */
export const streamed = (contentType = 'application/octet-stream', description?: string): DirectResponse =>
  ({ direct: true, contentType, schema: contentType === 'application/octet-stream' ? z.string().meta({ format: 'binary' }) : z.string(), description });

/** JSON the handler passes on unchanged (an agent's answer), described by `schema`. */
export const relayed = (schema: ZodType, description?: string): DirectResponse => ({ direct: true, contentType: 'application/json', schema, description });

/** The success answers of a route: a JSON schema, `null` for no body (204, 304), or a direct answer. */
export type ResponseSpec = ZodType | null | DirectResponse;
/** 302: a redirect (a bootstrap that sets a cookie and sends the browser on), documented with `null`. */
export type SuccessStatus = 200 | 201 | 202 | 204 | 206 | 302 | 304;
export type Responses = { [S in SuccessStatus]?: ResponseSpec };
/** Failures a route can answer beyond those the router derives (400, 401, 403, 404, 413, 415, 500, 503). */
export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 408 | 409 | 412 | 413 | 415 | 422 | 423 | 429 | 502 | 503 | 504;

/**
 * A JSON body already serialised (a list page Postgres wrote as JSON text), sent as is: on a
 * page of a hundred rows, reading every column into objects and serialising them again cost the
 * API several times what sending the page did. `T` is the shape the text stands for, so a route
 * still cannot answer another shape; whoever writes the text vouches for it, as a row mapping
 * does for its casts, and the test suite checks every answer against the document.
 */
export class JsonText<T> {
  /** Never set: it only carries `T` for the compiler. */
  declare readonly shape?: T;
  constructor(readonly text: string) {}
}

type Headers = Record<string, string>;
type AnswerOf<S, D> =
  D extends DirectResponse ? void | { status?: S; body?: string | Buffer | Readable; headers?: Headers }
  : D extends ZodType ? { status: S; body: z.input<D> | JsonText<z.input<D>>; headers?: Headers }
  : D extends null ? { status: S; body?: undefined; headers?: Headers }
  : never;
/** 200 is the default status, so a 200 answer may leave it out. */
type DefaultStatus<S, A> = S extends 200 ? A | (A extends { status: S } ? Omit<A, 'status'> & { status?: S } : never) : A;

/** The handler's return, derived from the spec's responses: another shape does not compile. */
export type ReplyFor<R extends Responses> = Exclude<{ [S in keyof R]: DefaultStatus<S, AnswerOf<S, Exclude<R[S], undefined>>> }[keyof R], undefined>;

/**
 * An ISO-8601 instant in the document; the handler may hand over a Date (JSON turns it into the
 * same text), so entities' timestamps need no conversion.
 */
export const timestamp = () =>
  z.custom<Date | string>((v) => v instanceof Date || typeof v === 'string').meta({ type: 'string', format: 'date-time' });
/** The same, or null (`.nullable()` would lose the null behind the custom type's metadata). */
export const nullableTimestamp = () =>
  z.custom<Date | string | null>((v) => v === null || v instanceof Date || typeof v === 'string').meta({ type: ['string', 'null'], format: 'date-time' });

/**
 * A route acting on one server declares what it needs of the caller there; the router runs
 * Tokens.Access before it reads query or body (404 not visible, 403 not permitted, 402 suspended)
 * and hands the handler the server as `ctx.server`.
 */
export interface ServerRouteAccess extends AccessOptions {
  permission: ServerAccessLevel;
  /** The path parameter holding the server id (default `id`). */
  param?: string;
  /** Recorded in the server's activity log after a success, e.g. `files.rename`. */
  activity?: string;
}

export interface RouteSpec<
  BS extends ZodType | undefined,
  QS extends ZodType | undefined,
  PS extends ZodType | undefined,
  RS extends Responses = Responses,
> {
  method: HttpMethod;
  /** koa-router path, e.g. "/api/servers/:id" */
  path: string;
  /** Stable and camelCase: generated clients name their functions after it. */
  operationId: string;
  summary: string;
  /** Longer text for the OpenAPI operation (CommonMark). */
  description?: string;
  tags?: string[];
  auth: RouteAuth;
  /** Set on every route that acts on a server (see ServerRouteAccess). */
  server?: ServerRouteAccess;
  /**
   * The scope an API key needs on a route that acts on no server; a key on a route declaring
   * neither `server` nor `scope` is refused (403), so a new route is closed to keys by default.
   */
  scope?: ApiKeyScope;
  /** JSON body schema; without it the body is not read (raw/stream routes read ctx.req). */
  body?: BS;
  /** A raw request body the handler streams itself, by content type (an upload). */
  rawBody?: string;
  query?: QS;
  params?: PS;
  /**
   * Request headers, for the document. The handler reads them from koa, so that each refusal can
   * name its header the way clients have come to expect.
   */
  headers?: z.ZodObject<any, any>;
  /** Every success status the route answers, each with its body. */
  responses: RS;
  /** Headers the route sets on its answers (ETag, RateLimit-*), by name, each with what it tells the client. */
  responseHeaders?: Record<string, string>;
  /** Failures beyond those derived from the spec (see ErrorStatus). */
  errors?: ErrorStatus[];
  /**
   * Runs before params, query and body are read: routes that authenticate themselves (agent
   * tokens, proxy tokens, webhook signatures) refuse forged calls here, before any parsing.
   */
  guard?(koa: Context): Promise<void>;
  /** Maximum body size in bytes for JSON bodies (default from config). */
  bodyLimit?: number;
  /** NoInfer: the responses alone decide RS, so each return is checked against them (literal statuses kept). */
  handler: NoInfer<(
    ctx: RequestContext<
      BS extends ZodType ? z.infer<BS> : undefined,
      QS extends ZodType ? z.infer<QS> : Record<string, string>,
      PS extends ZodType ? z.infer<PS> : Record<string, string>
    >,
  ) => Promise<ReplyFor<RS>>>;
}

/**
 * A WebSocket route, for the document only: the upgrade dispatcher serves it (ctx.upgrade). It is
 * shown as a GET answering 101.
 */
export interface SocketSpec {
  path: string;
  operationId: string;
  summary: string;
  description: string;
  tags?: string[];
  /** 'ticket': a single-use ticket in the `ticket` query parameter (Tokens.UpgradeTickets). */
  auth: 'ticket' | 'none';
  query?: z.ZodObject<any, any>;
  params?: z.ZodObject<any, any>;
  errors?: ErrorStatus[];
}

/** What `ctx.routes(router => …)` hands a plugin. */
export interface ApiRouter {
  route<
    BS extends ZodType | undefined = undefined,
    QS extends ZodType | undefined = undefined,
    PS extends ZodType | undefined = undefined,
    RS extends Responses = Responses,
  >(spec: RouteSpec<BS, QS, PS, RS>): void;
  /** Documents a WebSocket route served through the upgrade dispatcher. */
  socket(spec: SocketSpec): void;
}
