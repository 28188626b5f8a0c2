import { AgentError, SimulatorSeeder, eachLimited, type SeededServer, type SimulatorDirectory } from '../../kernel/api';

/** How many seeds are in flight at once. */
const LANES = 8;

/**
 * A sample fleet's agents, put into the agent simulator through its control endpoint (this
 * process's or the simulators process's): each holds its token and payload, and its server runs.
 */
export class AgentSeeder extends SimulatorSeeder {
  readonly name = 'agent';

  constructor(private readonly simulators: () => SimulatorDirectory) {
    super();
  }

  async seedServers(servers: readonly SeededServer[]): Promise<number> {
    const base = this.simulators().require('agent');
    const running = servers.filter((s) => !s.omit.includes('agent') && s.instance.state === 'running' && s.instance.vmid !== null);
    await eachLimited(running, LANES, async ({ instance, agent }) => {
      const res = await fetch(`${base}/__sim/ct/${instance.vmid}`, {
        method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(agent), signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new AgentError(`the agent simulator refused the sample agent of CT ${instance.vmid}`, { status: res.status });
    });
    return running.length;
  }
}
