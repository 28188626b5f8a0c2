import Router from '@koa/router';
import type { Context } from 'koa';
import { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z, type ZodType } from 'zod';
import { ForbiddenError, JsonText } from '../../api';
import type { Logger } from 'pino';
import type { AccountView, ActivityLog, ApiRouter, InstanceAccess, InstanceView, Reply, RequestContext, RouteSpec, SocketSpec } from '../../api';
import { readJsonBody, type JsonBodyLimits } from './body';
import { ContractComponents, describeRoute, describeSocket } from './contract';
import { invalidRequest } from './issues';
import { answerNotModified } from './etag';

export type Authenticator = (ctx: Context) => Promise<{ account: AccountView; sessionId: string }>;

/** What the router asks of the kernel for routes that act on a server; bound once the kernel booted. */
export interface ServerGate {
  access(): InstanceAccess;
  activity(): ActivityLog;
}

/** A declared route, as the route table lists it (tests walk it to check every server route is gated). */
export interface DeclaredRoute {
  owner: string;
  spec: RouteSpec<any, any, any>;
}

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
  private readonly declared: DeclaredRoute[] = [];
  private gate?: ServerGate;

  constructor(private readonly authenticate: Authenticator, private readonly bodyLimits: JsonBodyLimits) {}

  /** Binds the access gate and the activity log that `server` declarations use. */
  bindServerGate(gate: ServerGate): void {
    this.gate = gate;
  }

  /** Every route declared so far, kernel and plugins. */
  routes(): readonly DeclaredRoute[] {
    return this.declared;
  }

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
    this.declared.push({ owner, spec });
    describeRoute(this.openapi, this.components, owner, spec);
    const limits: JsonBodyLimits = { ...this.bodyLimits, limitBytes: spec.bodyLimit ?? this.bodyLimits.limitBytes };
    const handle = async (ctx: Context) => {
      let account: AccountView | undefined;
      let sessionId = '';
      if (spec.auth === 'user' || spec.auth === 'admin') {
        ({ account, sessionId } = await this.authenticate(ctx));
        if (spec.auth === 'admin' && account.role !== 'admin') throw new ForbiddenError('Admin role required');
        if (account.credential) keyMayCall(spec, account.credential.scopes);
      }
      if (spec.guard) await spec.guard(ctx);
      // Without a schema, the raw values are read only if the handler asks for them.
      const params = spec.params ? parse('params', spec.params, ctx.params) : RAW;
      let server: InstanceView | undefined;
      if (spec.server && account) {
        const { permission, param = 'id', mutation, action } = spec.server;
        server = await this.gate!.access().require(account, String((params === RAW ? ctx.params : params)[param]), permission, { mutation, action });
      }
      const query = querySchema ? parse('query', querySchema, ctx.query) : ctx.querystring ? parse('query', NO_QUERY, ctx.query) : RAW;
      const body = spec.body ? parse('body', spec.body, await readJsonBody(ctx, limits)) : undefined;
      const reply: Reply | void = await spec.handler(new HandlerContext(body, query, params, account as AccountView, sessionId, ctx, server as InstanceView));
      if (reply) applyReply(ctx, reply);
      if (server && spec.server?.activity && ctx.status < 400) {
        const activity = this.gate!.activity();
        await activity.record({
          instanceId: server.id, event: spec.server.activity, actor: activity.actorOf(account!, server), accountId: account!.id, ip: ctx.ip,
          properties: activityProperties(params === RAW ? {} : params, query === RAW ? {} : query, body),
        });
      }
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
    readonly server: InstanceView,
  ) {}

  get ip(): string {
    return this.koa.ip;
  }

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

/** A key on a route that acts on no server needs the route's scope (admin routes: `admin`); a server route's scope is Tokens.Access's to check. */
function keyMayCall(spec: RouteSpec<any, any, any>, scopes: readonly string[]): void {
  if (spec.server) return;
  const needed = spec.auth === 'admin' ? 'admin' : spec.scope;
  if (!needed) throw new ForbiddenError('API keys cannot be used on this route');
  if (!scopes.includes(needed)) throw new ForbiddenError(`This API key lacks the ${needed} scope`, { scope: needed });
}

/** What an activity entry keeps of a request: the names it acted on, never a long value (file content is never a JSON body). */
function activityProperties(params: Record<string, unknown>, query: Record<string, unknown>, body: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (k !== 'id') out[k] = v;
  for (const [k, v] of Object.entries(query)) if (k !== 'limit' && k !== 'cursor') out[k] = v;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    for (const [k, v] of Object.entries(body)) if (JSON.stringify(v ?? null).length <= 2000) out[k] = v;
  }
  return out;
}

function parse(where: string, schema: ZodType | undefined, value: unknown): any {
  if (!schema) return value;
  const r = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (r.success) return r.data;
  throw invalidRequest(`Invalid ${where}`, r.error, where);
}

function applyReply(ctx: Context, reply: Reply): void {
  for (const [k, v] of Object.entries(reply.headers ?? {})) ctx.set(k, v);
  if (reply.body instanceof JsonText) {
    // Set first: koa would call a string body text/plain.
    ctx.type = 'application/json';
    ctx.body = reply.body.text;
  } else if (reply.body !== undefined) ctx.body = reply.body;
  ctx.status = reply.status ?? (reply.body === undefined ? 204 : 200);
  answerNotModified(ctx);
}
