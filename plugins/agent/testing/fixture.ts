import { expect } from 'chai';
import type { Readable } from 'node:stream';
import { AgentError } from '../../../kernel/api';
import type { AgentTokens, InstanceView } from '../../../kernel/api';
import { HttpInstanceAgent } from '../provider';
import { AgentSimulator } from './simulator';

/** Tokens as the kernel derives them, made predictable for tests. */
export const testTokens: AgentTokens = {
  tokenFor: (id) => `tok-${id}`,
  verify: (id, presented) => presented === `tok-${id}`,
  identify: (presented) => (presented.startsWith('tok-') ? presented.slice(4) : null),
};

export interface AgentFixture {
  sim: AgentSimulator;
  agent: HttpInstanceAgent;
  instance(vmid: number): InstanceView;
  /** Provisions container {vmid} through the provider, as the provision worker does. */
  provision(vmid: number, payload?: Record<string, unknown>): Promise<InstanceView>;
}

/** A simulator and the real provider pointed at it; `stop` with `fixture.sim.stop()`. */
export async function startAgentFixture(options: { bootMs?: number; timeoutMs?: number } = {}): Promise<AgentFixture> {
  const sim = await new AgentSimulator({ port: 0, bootMs: options.bootMs ?? 50 }).start();
  const timeoutMs = options.timeoutMs ?? 1000;
  const agent = new HttpInstanceAgent(testTokens, { timeoutMs, readyTimeoutMs: timeoutMs });
  const instance = (vmid: number): InstanceView => ({
    id: `inst-${vmid}`, ownerId: 'acct-1', kind: 'game', type: 'minecraft', name: `server ${vmid}`, state: 'running',
    vmid, node: 'pve1', address: sim.address(vmid), host: '127.0.0.1', ports: [], payload: {}, createdAt: new Date(),
  });
  const provision = async (vmid: number, payload: Record<string, unknown> = {}): Promise<InstanceView> => {
    await agent.provision(instance(vmid), { type: 'minecraft', version: '1.21.4', instanceId: `inst-${vmid}`, ...payload });
    return instance(vmid);
  };
  return { sim, agent, instance, provision };
}

/** Resolves with the AgentError the call rejects with; fails the test if it resolves or throws anything else. */
export async function agentError(call: Promise<unknown>): Promise<AgentError> {
  const outcome = await call.then(() => undefined, (err: unknown) => err);
  expect(outcome).to.be.instanceOf(AgentError);
  return outcome as AgentError;
}

export async function readText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJsonBody(body: Readable): Promise<Record<string, unknown>> {
  return JSON.parse(await readText(body)) as Record<string, unknown>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}
