import { BootError, DriftDetector, InstanceAgent, Tokens, definePlugin, type PluginRuntime } from '../../kernel/api';
import { AgentDrift, AgentDriftDetector } from './drift';
import { agentConfig } from './config';
import { HttpInstanceAgent } from './provider';
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
      ctx.config.simulate ? (address) => simulatorOf(runtime)?.rebase(address) ?? address : undefined));
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
    const { host, port } = ctx.config.simulator;
    const simulators = ctx.resolve(Tokens.Simulators);
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

function simulatorOf(runtime: PluginRuntime<unknown>): AgentSimulator | undefined {
  return runtime.container.isRegistered(AgentSimulator) ? runtime.container.resolve(AgentSimulator) : undefined;
}
