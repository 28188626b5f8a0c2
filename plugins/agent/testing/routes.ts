import type { PowerAction } from '../../../kernel/api';
import type { SimContainer } from './sim-container';

export interface SimReply {
  status: number;
  /** Sent as JSON, or as plain text when it is a string. */
  body: unknown;
}

/** A request that passed routing and the token check. */
export interface SimRequest {
  container: SimContainer;
  body: unknown;
  bearer: string | undefined;
}

export interface SimRoute {
  method: 'GET' | 'POST';
  /** Path under /ct/{vmid}, matched exactly. */
  path: string;
  /** Reached before provision; the handler then checks the bearer against the payload itself. */
  trustOnFirstUse?: boolean;
  /** Answer before provision instead of 409 not_provisioned. */
  unprovisioned?: SimReply;
  handle(req: SimRequest): SimReply | Promise<SimReply>;
}

const POWER_ACTIONS: readonly PowerAction[] = ['start', 'stop', 'restart', 'kill'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The agent's wire contract (API.md, "What the control plane expects of the in-container agent"). */
export const agentRoutes: readonly SimRoute[] = [
  {
    method: 'POST',
    path: '/provision',
    trustOnFirstUse: true,
    handle({ container, body, bearer }) {
      const payload = isObject(body) ? body.payload : undefined;
      if (!isObject(payload)) return { status: 400, body: { error: 'invalid_payload' } };
      // Fail closed: the bearer must be the token the payload brings (and, later, the stored one).
      if (!bearer || payload.agentToken !== bearer) return { status: 401, body: { error: 'unauthorized' } };
      container.provision(bearer, payload);
      return { status: 200, body: { provisioned: true, phase: container.state } };
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
