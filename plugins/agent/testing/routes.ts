import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { PowerAction } from '../../../kernel/api';
import type { SimContainer } from './sim-container';
import { SimDevContainer } from './sim-dev';

export interface SimReply {
  status: number;
  /** Sent as JSON, or as plain text when it is a string. */
  body: unknown;
}

/** An answer whose body is streamed (downloads); the headers are the route's to set. */
export interface SimStreamReply {
  status: number;
  headers: Record<string, string>;
  stream: Readable;
}

export type SimAnswer = SimReply | SimStreamReply;

/** A request that passed routing and the token check. */
export interface SimRequest {
  container: SimContainer;
  /** The parsed JSON body; undefined for routes that stream their body. */
  body: unknown;
  /** The request itself, for routes that stream their body. */
  raw: IncomingMessage;
  query: URLSearchParams;
  /** Values of the `:name` segments of the route's path. */
  params: Record<string, string>;
  bearer: string | undefined;
}

export interface SimRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path under /ct/{vmid}; a `:name` segment matches one path segment. */
  path: string;
  /** The handler reads the raw body itself, as a stream; otherwise it is parsed as JSON first. */
  streamsBody?: boolean;
  /** Reached before provision; the handler then checks the bearer against the payload itself. */
  trustOnFirstUse?: boolean;
  /** Answer before provision instead of 409 not_provisioned. */
  unprovisioned?: SimReply;
  handle(req: SimRequest): SimAnswer | Promise<SimAnswer>;
}

const POWER_ACTIONS: readonly PowerAction[] = ['start', 'stop', 'restart', 'kill'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Lifecycle of the agent and its server: provision, readiness, status, power. */
export const lifecycleRoutes: readonly SimRoute[] = [
  {
    method: 'POST',
    path: '/provision',
    trustOnFirstUse: true,
    async handle({ container, body, bearer }) {
      const payload = isObject(body) ? body.payload : undefined;
      if (!isObject(payload)) return { status: 400, body: { error: 'invalid_payload' } };
      // Fail closed: the bearer must be the token the payload brings (and, later, the stored one).
      if (!bearer || payload.agentToken !== bearer) return { status: 401, body: { error: 'unauthorized' } };
      // A dev container's runtime artifact is checked against its hash before anything is installed.
      if (payload.type === 'codeserver' && !container.dev) {
        const verdict = SimDevContainer.verify(payload);
        if (!verdict.ok) return { status: verdict.status, body: verdict.body };
      }
      await container.provision(bearer, payload);
      return { status: 200, body: { provisioned: true, phase: container.state } };
    },
  },
  {
    // The token held is replaced by another, asked with the one held now (the route's token check).
    method: 'PUT',
    path: '/token',
    handle({ container, body }) {
      const token = isObject(body) ? body.token : undefined;
      if (typeof token !== 'string' || token.length < 16) return { status: 400, body: { error: 'invalid_token' } };
      container.token = token;
      return { status: 200, body: { replaced: true } };
    },
  },
  {
    method: 'GET',
    path: '/ready',
    unprovisioned: { status: 503, body: { ready: false, phase: 'unprovisioned' } },
    handle({ container }) {
      const readiness = container.readiness();
      return { status: readiness.ready ? 200 : 503, body: readiness };
    },
  },
  {
    method: 'GET',
    path: '/status',
    handle: ({ container }) => ({ status: 200, body: container.status() }),
  },
  {
    method: 'POST',
    path: '/power',
    handle({ container, body }) {
      const action = isObject(body) ? body.action : undefined;
      if (!POWER_ACTIONS.includes(action as PowerAction)) return { status: 400, body: { error: 'invalid_action' } };
      container.power(action as PowerAction);
      return { status: 200, body: { state: container.state } };
    },
  },
];

const CODE_SERVER_ACTIONS = ['start', 'stop', 'restart'] as const;
const NOT_DEV: SimReply = { status: 409, body: { error: 'not_a_dev_container' } };

/** The dev container's part of the agent: code-server lifecycle and runtime installs. */
export const devRoutes: readonly SimRoute[] = [
  {
    method: 'POST',
    path: '/dev/codeserver/:action',
    handle({ container, params }) {
      if (!container.dev) return NOT_DEV;
      const action = params.action as typeof CODE_SERVER_ACTIONS[number];
      if (!CODE_SERVER_ACTIONS.includes(action)) return { status: 404, body: { error: 'not_found' } };
      container.dev.control(action);
      return { status: 200, body: { codeServer: { state: container.dev.codeServer, memoryBytes: container.dev.memoryBytes(), port: 6000 } } };
    },
  },
  {
    method: 'POST',
    path: '/dev/runtime/install',
    handle({ container, body }) {
      if (!container.dev) return NOT_DEV;
      if (!isObject(body)) return { status: 400, body: { error: 'invalid_body' } };
      const verdict = container.dev.install(body);
      return verdict.ok ? { status: 200, body: { runtime: container.dev.status().runtime } } : { status: verdict.status, body: verdict.body };
    },
  },
  {
    method: 'POST',
    path: '/dev/runtime/activate',
    handle({ container, body }) {
      if (!container.dev) return NOT_DEV;
      const version = isObject(body) ? String(body.version) : '';
      if (!container.dev.activate(version)) return { status: 409, body: { error: 'not_installed', version } };
      return { status: 200, body: { runtime: container.dev.status().runtime } };
    },
  },
];
