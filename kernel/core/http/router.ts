import Router from '@koa/router';
import type { Context } from 'koa';
import { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z, type ZodType } from 'zod';
import { ForbiddenError } from '../../api';
import type { Logger } from 'pino';
import type { AccountView, ApiRouter, Reply, RequestContext, RouteSpec, SocketSpec } from '../../api';
import { readJsonBody, type JsonBodyLimits } from './body';
import { ContractComponents, describeRoute, describeSocket } from './contract';
import { invalidRequest } from './issues';
import { answerNotModified } from './etag';

export type Authenticator = (ctx: Context) => Promise<{ account: AccountView; sessionId: string }>;

/**
 * The one router of a kernel. Each route is declared with zod schemas that both validate the
 * request and feed the OpenAPI document, so the contract cannot drift from the code.
 */
export class KernelRouter {
  readonly router = new Router();
  readonly openapi = new OpenAPIRegistry();
  private readonly seen = new Map<string, string>();
  private readonly operationIds = new Map<string, string>();
  private readonly components = new ContractComponents(this.openapi);
  /** Routes without parameters, found by one map lookup before the router's regex walk. */
  private readonly exact = new Map<string, { path: string; handle: (ctx: Context) => Promise<void> }>();

  constructor(private readonly authenticate: Authenticator, private readonly bodyLimits: JsonBodyLimits) {}

  /** The view a plugin (or kernel module) registers through; duplicates across owners fail boot. */
  for(owner: string): ApiRouter {
    return {
      route: (spec) => this.add(owner, spec as unknown as RouteSpec<any, any, any>),
      socket: (spec) => {
        this.claimOperationId(owner, spec.operationId);
        describeSocket(this.openapi, this.components, owner, spec);
      },
    };
  }

  /** Generated clients name functions after operation ids: one per operation, camelCase. */
  private claimOperationId(owner: string, id: string): void {
    if (!/^[a-z][A-Za-z0-9]*$/.test(id)) throw new Error(`operationId "${id}" of "${owner}" is not camelCase`);
    const prior = this.operationIds.get(id);
    if (prior) throw new Error(`operationId "${id}" is declared by both "${prior}" and "${owner}"`);
    this.operationIds.set(id, owner);
  }

  private add(owner: string, spec: RouteSpec<any, any, any>): void {
    const key = `${spec.method.toUpperCase()} ${spec.path}`;
    const prior = this.seen.get(key);
    if (prior) throw new Error(`route ${key} is declared by both "${prior}" and "${owner}"`);
    this.seen.set(key, owner);
    // A route's declared query is all it takes: an unknown parameter is 400, never silently ignored.
    const querySchema = spec.query instanceof z.ZodObject ? spec.query.strict() : spec.query;
    spec = { ...spec, query: querySchema };
    this.claimOperationId(owner, spec.operationId);
    describeRoute(this.openapi, this.components, owner, spec);
    const limits: JsonBodyLimits = { ...this.bodyLimits, limitBytes: spec.bodyLimit ?? this.bodyLimits.limitBytes };
    const handle = async (ctx: Context) => {
      let account: AccountView | undefined;
      let sessionId = '';
      if (spec.auth === 'user' || spec.auth === 'admin') {
        ({ account, sessionId } = await this.authenticate(ctx));
        if (spec.auth === 'admin' && account.role !== 'admin') throw new ForbiddenError('Admin role required');
      }
      if (spec.guard) await spec.guard(ctx);
      // Without a schema, the raw values are read only if the handler asks for them.
      const params = spec.params ? parse('params', spec.params, ctx.params) : RAW;
      const query = querySchema ? parse('query', querySchema, ctx.query) : ctx.querystring ? parse('query', NO_QUERY, ctx.query) : RAW;
      const body = spec.body ? parse('body', spec.body, await readJsonBody(ctx, limits)) : undefined;
      const reply: Reply | void = await spec.handler(new HandlerContext(body, query, params, account as AccountView, sessionId, ctx));
      if (reply) applyReply(ctx, reply);
    };
    this.router[spec.method](spec.path, handle);
    if (!/[:*{]/.test(spec.path)) this.exact.set(key, { path: spec.path, handle });
  }

  /** Middleware answering parameterless routes directly; everything else falls through to the router. */
  staticRoutes() {
    return (ctx: Context, next: () => Promise<unknown>) => {
      const hit = this.exact.get(`${ctx.method} ${ctx.path}`);
      if (!hit) return next();
      ctx._matchedRoute = hit.path;
      ctx.params = {};
      return hit.handle(ctx);
    };
  }
}

/**
 * What a handler receives. A class, not a literal with a getter: an accessor in an object
 * literal makes V8 build a fresh shape per request, which cost more than the rest of routing.
 */
const RAW = Symbol('raw');
/** The query of a route that declares none. */
const NO_QUERY = z.object({}).strict();

class HandlerContext<B, Q, P> implements RequestContext<B, Q, P> {
  constructor(
    readonly body: B,
    private readonly parsedQuery: Q | typeof RAW,
    private readonly parsedParams: P | typeof RAW,
    readonly account: AccountView,
    readonly sessionId: string,
    readonly koa: Context,
  ) {}

  get query(): Q {
    return this.parsedQuery === RAW ? (this.koa.query as Q) : this.parsedQuery;
  }

  get params(): P {
    return this.parsedParams === RAW ? (this.koa.params as P) : this.parsedParams;
  }

  get requestId(): string {
    return this.koa.state.requestId;
  }

  /** Only built when a handler logs. */
  get logger(): Logger {
    return this.koa.state.log;
  }
}

function parse(where: string, schema: ZodType | undefined, value: unknown): any {
  if (!schema) return value;
  const r = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (r.success) return r.data;
  throw invalidRequest(`Invalid ${where}`, r.error, where);
}

function applyReply(ctx: Context, reply: Reply): void {
  for (const [k, v] of Object.entries(reply.headers ?? {})) ctx.set(k, v);
  if (reply.body !== undefined) ctx.body = reply.body;
  ctx.status = reply.status ?? (reply.body === undefined ? 204 : 200);
  answerNotModified(ctx);
}
