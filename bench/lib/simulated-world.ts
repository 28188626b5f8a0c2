import agentPlugin from '../../plugins/agent';
import { AgentSimulator } from '../../plugins/agent/testing/simulator';
import cloudflarePlugin from '../../plugins/cloudflare';
import { CloudflareSimulator } from '../../plugins/cloudflare/testing/simulator';
import minecraftPlugin from '../../plugins/minecraft';
import proxmoxPlugin from '../../plugins/proxmox';
import { ProxmoxSimulator, SIMULATOR_TOKEN } from '../../plugins/proxmox/testing/simulator';
import velocityPlugin from '../../plugins/velocity';
import { startTestKernel, type TestKernel } from '../../test/harness';

/** A fleet-sized simulated world: Proxmox, agents and Cloudflare on loopback, Velocity in the kernel, and an api kernel using them. */
export interface SimulatedWorld {
  tk: TestKernel;
  proxmox: ProxmoxSimulator;
  cloudflare: CloudflareSimulator;
  agents: AgentSimulator;
  stop(): Promise<void>;
}

export interface WorldOptions {
  zone: { id: string; name: string };
  proxy: { target: string; port: number };
  /** Agents the agent detector asks per controller pass. */
  agentChecksPerPass: number;
  /** Kernel settings on top (controller, logging …). */
  config?: Record<string, unknown>;
}

/** Zero-latency simulators, so a benchmark measures the kernel's work and its calls, not waits. */
export async function simulatedWorld(o: WorldOptions): Promise<SimulatedWorld> {
  const agents = await new AgentSimulator({ port: 0, bootMs: 0 }).start();
  const proxmox = new ProxmoxSimulator({ taskMs: 0, agentSimulatorUrl: agents.url });
  await proxmox.start();
  const cloudflare = new CloudflareSimulator({ port: 0, apiToken: 'bench-edge-token' });
  await cloudflare.start();
  const tk = await startTestKernel({
    plugins: [proxmoxPlugin, agentPlugin, minecraftPlugin, cloudflarePlugin, velocityPlugin],
    config: {
      role: 'api',
      ...o.config,
      plugins: {
        proxmox: {
          enabled: true,
          options: { simulate: false, baseUrl: proxmox.url, tokenId: SIMULATOR_TOKEN.id, tokenSecret: SIMULATOR_TOKEN.secret, agentEndpoint: `${agents.url}/ct/{vmid}` },
        },
        agent: { enabled: true, options: { simulate: false, driftChecksPerPass: o.agentChecksPerPass } },
        minecraft: { enabled: true },
        cloudflare: { enabled: true, options: { simulate: false, baseUrl: cloudflare.url, apiToken: 'bench-edge-token', zoneId: o.zone.id, zoneName: o.zone.name, ...o.proxy } },
        velocity: { enabled: true, options: { simulate: true, simulator: { port: 0 }, proxyToken: 'bench-proxy-token' } },
      },
    },
  });
  return {
    tk, proxmox, cloudflare, agents,
    stop: async () => {
      await tk.kernel.redis.eval(`for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1`, 0, `${tk.prefix}:*`).catch(() => undefined);
      await tk.stop();
      await cloudflare.stop();
      await proxmox.stop();
      await agents.stop();
    },
  };
}
