import { BootError, DriftDetector, InstanceAgent, SimulatorSeeder, Tokens, definePlugin } from '../../kernel/api';
import { AgentDrift, AgentDriftDetector } from './drift';
import { agentConfig } from './config';
import { HttpInstanceAgent } from './provider';
import { AgentSeeder } from './seeder';
import { AgentSimulator } from './testing/simulator';

export default definePlugin({
  name: 'agent',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'Client of the in-container agent (provision, readiness, status, power, files, backups, console), with a loopback simulator',
  config: agentConfig,
  register(ctx) {
    ctx.provide(InstanceAgent, (runtime) => new HttpInstanceAgent(runtime.resolve(Tokens.AgentTokens), ctx.config,
      // Every agent is the simulator's: an address stored in an earlier run (another port) still reaches it.
      ctx.config.simulate ? (address) => rebase(address, runtime.resolve(Tokens.Simulators).lookup('agent')) : undefined));
    if (ctx.config.simulate) ctx.provide(SimulatorSeeder, (runtime) => new AgentSeeder(() => runtime.resolve(Tokens.Simulators)));
    ctx.provide(DriftDetector, () => new AgentDriftDetector(() => ctx.resolve(InstanceAgent), () => ctx.config.driftChecksPerPass));
    // Restarting a workload is Level 2: it runs only once an operator approved the proposal.
    ctx.hooks.onRepair.tapPromise(ctx.name, async (drift) => {
      if (drift.kind !== AgentDrift.notReady) return undefined;
      const instance = drift.instanceId ? await ctx.resolve(Tokens.Instances).get(drift.instanceId) : null;
      if (!instance || instance.state !== 'running') return { action: 'restart_workload', ok: false, detail: { reason: 'not_running', state: instance?.state ?? null } };
      await ctx.resolve(InstanceAgent).power(instance, 'restart');
      return { action: 'restart_workload', ok: true };
    });
  },
  async start(ctx) {
    if (!ctx.config.simulate) return;
    const simulators = ctx.resolve(Tokens.Simulators);
    // Another process runs the agent simulator; rebase() points stored addresses at its URL.
    if (simulators.remote) return void simulators.require('agent');
    const { host, port } = ctx.config.simulator;
    const stateDir = simulators.stateDir('agent');
    const simulator = await new AgentSimulator({ ...ctx.config.simulator, stateDir }).start().catch((err: Error) => {
      throw new BootError(`agent simulator cannot listen on ${host}:${port}: ${err.message}`);
    });
    // Kept in this plugin's own container, so two kernels in one process each stop their own.
    ctx.container.register(AgentSimulator, { useValue: simulator });
    simulators.publish('agent', simulator.url);
    ctx.logger.info({ url: simulator.url, bootMs: ctx.config.simulator.bootMs, stateDir }, 'agent simulator listening');
  },
  async stop(ctx) {
    if (ctx.container.isRegistered(AgentSimulator)) await ctx.container.resolve(AgentSimulator).stop();
  },
});

/**
 * The address of a container's agent in this run, from one stored in an earlier run (the port is
 * picked at each start) or by another process: the container path is kept, the origin is the simulator's.
 */
function rebase(address: string, simulatorUrl: string | undefined): string {
  const path = /^https?:\/\/[^/]+(\/ct\/\d+.*)$/.exec(address)?.[1];
  return path && simulatorUrl ? `${simulatorUrl}${path}` : address;
}
