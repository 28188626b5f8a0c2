import { AgentError, DriftDetector, KernelDrift, RoundRobin, eachLimited } from '../../kernel/api';
import type { DriftFinding, DriftReport, DriftScan, InstanceAgent } from '../../kernel/api';

/** The drift kinds this plugin reports; the kernel re-sends a payload, this plugin restarts a workload once approved. */
export const AgentDrift = {
  /** The agent holds no provision payload (it restarted, or the payload never reached it). */
  unprovisioned: KernelDrift.agentUnprovisioned,
  /** Provisioned but not ready while the database says running. */
  notReady: 'agent_not_ready',
  /** Answers 401 to our token: an agent that predates ours (the kernel provisions ours once approved). */
  tokenRejected: KernelDrift.agentTokenRejected,
  /** Ready while the kernel holds no ready observation (a lost ready event, a server taken over): the kernel records it. */
  readinessUnrecorded: KernelDrift.readinessUnrecorded,
} as const;

/**
 * Asks the agents of running instances for their semantic readiness. Agents have no bulk
 * endpoint, so each pass asks a bounded share of them (`driftChecksPerPass`), round robin.
 */
export class AgentDriftDetector extends DriftDetector {
  readonly name = 'agent';
  readonly kinds = Object.values(AgentDrift);
  private readonly turn = new RoundRobin();

  constructor(private readonly agent: () => InstanceAgent, private readonly perPass: () => number) {
    super();
  }

  async detect(scan: DriftScan): Promise<DriftReport> {
    const running = scan.instances.filter((i) => i.state === 'running' && i.address);
    const batch = this.turn.next(running, scan.everyInstance ? running.length : this.perPass());
    const findings: DriftFinding[] = [];
    const examined: string[] = [];
    await eachLimited(batch, 8, async (instance) => {
      if (scan.signal.aborted) return;
      let answer: Awaited<ReturnType<InstanceAgent['ready']>>;
      try {
        answer = await this.agent().ready(instance);
      } catch (err) {
        // Another token than ours is a finding; an agent that does not answer is the supervision's.
        if (!rejectsOurToken(err)) return;
        examined.push(instance.id);
        findings.push({ kind: AgentDrift.tokenRejected, instanceId: instance.id, level: 2, action: 'agent_token_provision', evidence: { status: 401 } });
        return;
      }
      examined.push(instance.id);
      if (answer.provisioned === false) {
        findings.push({ kind: AgentDrift.unprovisioned, instanceId: instance.id, level: 2, action: 'agent_reprovision', evidence: { ready: answer.ready, detail: answer.detail ?? null } });
      } else if (!answer.ready) {
        findings.push({ kind: AgentDrift.notReady, instanceId: instance.id, level: 2, action: 'restart_workload', evidence: { detail: answer.detail ?? null } });
      } else if (!scan.ready.has(instance.id)) {
        findings.push({
          kind: AgentDrift.readinessUnrecorded, instanceId: instance.id, level: 1, action: 'record_readiness',
          evidence: { recorded: scan.readinessUnknown.has(instance.id) ? 'never' : 'down' },
        });
      }
    });
    return { findings, examined };
  }
}

function rejectsOurToken(err: unknown): boolean {
  return err instanceof AgentError && (err.details as { agent?: { status?: number } }).agent?.status === 401;
}
