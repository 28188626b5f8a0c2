import { z } from 'zod';

export const agentConfig = z.object({
  /** Deadline of every JSON call to an agent; for streamed file requests, the longest silence before its headers. */
  timeoutMs: z.number().int().positive().default(5_000),
  /** Readiness is polled, so a probe gives up sooner than other calls. */
  readyTimeoutMs: z.number().int().positive().default(2_000),
  /** Agents asked for their readiness per controller pass (round robin over the running fleet). */
  driftChecksPerPass: z.number().int().min(0).default(50),
  /** Runs the loopback agent simulator (the embedded default has no real containers). */
  simulate: z.boolean().default(false),
  simulator: z.object({
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port; the simulator publishes its address for the hosting plugin (Tokens.Simulators). */
    port: z.number().int().min(0).max(65535).default(0),
    /** Added before every simulated answer. */
    latencyMs: z.number().int().min(0).default(0),
    /** How long after provision (or start/restart) a simulated server becomes ready. */
    bootMs: z.number().int().min(0).default(300),
    /**
     * Each provisioned container listens on `<host>:<its game port>` and answers a Minecraft
     * status ping with its motd, so a player (or the proxy simulator) can reach it. Off by
     * default: game ports come from the provisioning port range, which other programs may hold.
     */
    gameServers: z.boolean().default(false),
  }).prefault({}),
});
export type AgentConfig = z.infer<typeof agentConfig>;
export type SimulatorOptions = AgentConfig['simulator'];
