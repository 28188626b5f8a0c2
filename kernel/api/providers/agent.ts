import type { InstanceView } from '../domain';

export interface AgentReadiness {
  ready: boolean;
  detail?: Record<string, unknown>;
}
export type PowerAction = 'start' | 'stop' | 'restart' | 'kill';

/** Client of the agent that runs inside each container. */
export abstract class InstanceAgent {
  static readonly port = 'InstanceAgent';
  /** Hands the agent its payload (includes the per-instance agent token). */
  abstract provision(instance: InstanceView, payload: Record<string, unknown>): Promise<void>;
  /** Semantic readiness, exactly as the agent's /ready says. */
  abstract ready(instance: InstanceView): Promise<AgentReadiness>;
  abstract status(instance: InstanceView): Promise<Record<string, unknown>>;
  abstract power(instance: InstanceView, action: PowerAction): Promise<void>;
}
