import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z, type ZodType } from 'zod';
import type { DirectResponse, ErrorStatus, ResponseSpec, RouteSpec, SocketSpec } from '../../api';

/** The one error envelope of API.md, shared by every failure of every route. */
const ERROR_JSON_SCHEMA = (() => {
  const { $schema: _, ...schema } = z.toJSONSchema(z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable machine-readable code, e.g. quota_exceeded' }),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string(),
  }),
}).meta({ description: 'Every failure: { error: { code, message, details, requestId } }' }), { target: 'draft-2020-12' });
  return schema;
})();

const FAILURES: Record<number, string> = {
  400: 'invalid_request (details.fields lists the bad fields)',
  401: 'unauthenticated',
  402: 'billing_suspended',
  403: 'forbidden or quota_exceeded',
  404: 'not_found (also for what belongs to another account)',
  405: 'method_not_allowed',
  408: 'request_timeout: the body did not arrive in time',
  409: 'conflict, operation_in_progress or not_provisioned',
  412: 'precondition_failed: If-Match is stale',
  413: 'payload_too_large',
  415: 'unsupported_media_type (or binary_file for a text read)',
  422: 'idempotency_key_reused with another body',
  423: 'locked',
  429: 'rate_limited, with Retry-After',
  500: 'internal',
  502: 'agent_error or provider_error (details keep the upstream status)',
  503: 'unavailable or database_unavailable, with Retry-After',
  504: 'upstream_timeout',
};

const HEADERS = {
  RequestId: { description: 'Echoes a sane incoming X-Request-Id, else a new one', schema: { type: 'string' } },
  RetryAfter: { description: 'Seconds to wait before trying again', schema: { type: 'string' } },
} as const;
const REQUEST_ID = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
const RETRY_AFTER = { ...REQUEST_ID, 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };
/** A 429 comes only from a counted window (sign-in address, API key), which sets these before refusing. */
const RATE_LIMITED = {
  ...RETRY_AFTER,
  'RateLimit-Limit': { description: 'Requests the window allows', schema: { type: 'string' } },
  'RateLimit-Remaining': { description: 'Requests left in the window: 0', schema: { type: 'string' } },
  'RateLimit-Reset': { description: 'Seconds until the window starts afresh', schema: { type: 'string' } },
};

const USER_SCHEME = 'userToken';
const TICKET_SCHEME = 'upgradeTicket';
const SCHEMES: Record<string, Record<string, string>> = {
  [USER_SCHEME]: {
    type: 'http', scheme: 'bearer', bearerFormat: 'JWT',
    description: 'The accessToken from POST /api/auth/login (15 minutes; renew with POST /api/auth/refresh)',
  },
  [TICKET_SCHEME]: {
    type: 'apiKey', in: 'query', name: 'ticket',
    description: 'A single-use ticket (about 30 s) for one WebSocket, e.g. from POST /api/servers/{id}/console/ticket',
  },
};

/**
 * Shared pieces of the document (the Error schema, one response per failure status, headers,
 * security schemes), each registered the first time an operation uses it: no unused components.
 */
export class ContractComponents {
  private readonly done = new Set<string>();

  constructor(private readonly registry: OpenAPIRegistry) {}

  private once(key: string, register: () => void): void {
    if (this.done.has(key)) return;
    this.done.add(key);
    register();
  }

  scheme(name: string, definition: Record<string, string> = SCHEMES[name]): Array<Record<string, string[]>> {
    this.once(`scheme ${name}`, () => this.registry.registerComponent('securitySchemes', name, definition as any));
    return [{ [name]: [] }];
  }

  security(auth: RouteSpec<any, any, any>['auth']): Array<Record<string, string[]>> {
    if (auth === 'none') return [];
    if (typeof auth === 'string') return this.scheme(USER_SCHEME);
    return this.scheme(auth.scheme, { type: 'http', scheme: 'bearer', description: auth.description });
  }

  headers(retryAfter = false): ResponseConfig['headers'] {
    this.once('header RequestId', () => this.registry.registerComponent('headers', 'RequestId', HEADERS.RequestId));
    if (!retryAfter) return REQUEST_ID;
    this.once('header RetryAfter', () => this.registry.registerComponent('headers', 'RetryAfter', HEADERS.RetryAfter));
    return RETRY_AFTER;
  }

  /** `{ 400: { $ref: '#/components/responses/Error400' }, … }`: each status's envelope, described once. */
  errors(statuses: Iterable<number>): Record<string, { $ref: string }> {
    this.once('schema Error', () => this.registry.registerComponent('schemas', 'Error', ERROR_JSON_SCHEMA as any));
    return Object.fromEntries([...new Set(statuses)].sort().map((status) => {
      const name = `Error${status}`;
      this.once(`response ${name}`, () => this.registry.registerComponent('responses', name, {
        description: FAILURES[status] ?? 'error',
        headers: (status === 429 ? { ...this.headers(true), ...RATE_LIMITED } : this.headers(status === 503)) as any,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      }));
      return [status, { $ref: `#/components/responses/${name}` }];
    }));
  }
}

/**
 * Failures every route of this shape can answer, beside those it declares. 400 for all: a query
 * parameter the route does not declare is refused, on routes that declare none too.
 */
function derivedErrors(spec: RouteSpec<any, any, any>): number[] {
  const errors = [400, 500, 503, ...(spec.errors ?? [])];
  if (spec.auth !== 'none') errors.push(401);
  // Admin routes refuse other roles; user routes refuse an API key outside its scopes, and server routes a subuser without the permission.
  if (spec.auth === 'admin' || spec.auth === 'user') errors.push(403);
  if (spec.server?.mutation) errors.push(402);
  if (spec.server?.mutation === 'backup') errors.push(423);
  if (spec.auth === 'user') errors.push(429);
  if (/:/.test(spec.path)) errors.push(404);
  if (spec.body) errors.push(408, 413, 415);
  return errors;
}

const isDirect = (d: ResponseSpec): d is DirectResponse => d !== null && (d as DirectResponse).direct === true;

function successResponse(status: number, d: ResponseSpec, headers: ResponseConfig['headers']): ResponseConfig {
  if (d === null) return { description: status === 304 ? 'Not modified' : 'No content', headers };
  if (isDirect(d)) {
    if (!d.contentType) return { description: d.description ?? 'No content', headers };
    return { description: d.description ?? 'Success', headers, content: { [d.contentType]: { schema: d.schema ?? z.string() } } };
  }
  return { description: 'Success', headers, content: { 'application/json': { schema: d as ZodType } } };
}

/** `/api/servers/:id` → `/api/servers/{id}`, and the path parameters an undeclared `params` implies. */
function openApiPath(path: string, params: ZodType | undefined): { path: string; params?: z.ZodObject<any, any> } {
  const names = [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
  const implied = names.length ? z.object(Object.fromEntries(names.map((n) => [n, z.string()]))) : undefined;
  return { path: path.replace(/:([A-Za-z0-9_]+)/g, '{$1}'), params: (params as z.ZodObject<any, any>) ?? implied };
}

/** What an API key's window adds to every answer it gets (ApiKeys.authenticate), as API.md's rate-limited routes promise. */
const API_KEY_RATE_LIMIT = {
  'RateLimit-Limit': 'With an API key: requests the key may make in the current window',
  'RateLimit-Remaining': 'With an API key: requests left in the current window',
  'RateLimit-Reset': 'With an API key: seconds until the window starts afresh',
};

/** A route an API key may call: a server route (its permission maps to a scope), one naming a scope, or an admin route (`admin` scope). */
const keyMayCall = (spec: RouteSpec<any, any, any>): boolean =>
  spec.auth === 'admin' || (spec.auth === 'user' && (spec.server !== undefined || spec.scope !== undefined));

/** A route's own response headers as OpenAPI header objects (all strings on the wire). */
function routeHeaders(declared: Record<string, string> | undefined): ResponseConfig['headers'] {
  return Object.fromEntries(Object.entries(declared ?? {}).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
}

/** One route as an OpenAPI operation: the same schemas that validate its requests. */
export function describeRoute(registry: OpenAPIRegistry, components: ContractComponents, owner: string, spec: RouteSpec<any, any, any>): void {
  const { path, params } = openApiPath(spec.path, spec.params);
  const body = spec.body
    ? { required: !(spec.body as ZodType).safeParse(undefined).success, content: { 'application/json': { schema: spec.body as ZodType } } }
    : spec.rawBody ? { required: true, content: { [spec.rawBody]: { schema: z.string().meta({ format: 'binary' }) } } } : undefined;
  const headers = { ...components.headers(), ...routeHeaders(keyMayCall(spec) ? API_KEY_RATE_LIMIT : undefined), ...routeHeaders(spec.responseHeaders) };
  const successes = Object.entries(spec.responses as Record<string, ResponseSpec>)
    .map(([status, d]) => [status, successResponse(Number(status), d, headers)]);
  registry.registerPath({
    method: spec.method,
    path,
    operationId: spec.operationId,
    summary: spec.summary,
    description: spec.description,
    tags: spec.tags ?? [owner],
    security: components.security(spec.auth),
    request: { params, query: spec.query as z.ZodObject<any, any>, headers: spec.headers, body },
    responses: { ...Object.fromEntries(successes), ...components.errors(derivedErrors(spec)) },
  });
}

/** A WebSocket route: a GET that answers 101 Switching Protocols once its checks pass. */
export function describeSocket(registry: OpenAPIRegistry, components: ContractComponents, owner: string, spec: SocketSpec): void {
  const { path, params } = openApiPath(spec.path, spec.params);
  const errors: ErrorStatus[] = [400, 401, 403, 404, ...(spec.errors ?? [])];
  registry.registerPath({
    method: 'get',
    path,
    operationId: spec.operationId,
    summary: spec.summary,
    description: spec.description,
    tags: spec.tags ?? [owner],
    security: spec.auth === 'ticket' ? components.scheme(TICKET_SCHEME) : [],
    request: {
      params,
      query: spec.query,
      headers: z.object({
        Upgrade: z.literal('websocket'),
        'Sec-WebSocket-Protocol': z.string().optional().meta({ description: 'zpack.console.v1 for JSON frames; none means raw text' }),
      }),
    },
    responses: { 101: { description: 'Switching Protocols: the WebSocket is open' }, ...components.errors([500, 503, ...errors]) },
  });
}
