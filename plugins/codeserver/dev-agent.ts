import { Readable } from 'node:stream';
import { z } from 'zod';
import { AgentError, ZpackError } from '../../kernel/api';
import type { InstanceAgent, InstanceView } from '../../kernel/api';
import type { RuntimeRelease } from './catalog';

export type CodeServerAction = 'start' | 'stop' | 'restart';

/** What the agent's /status says of a dev container. */
export const devStatus = z.looseObject({
  provisioningComplete: z.boolean().optional(),
  runtime: z.object({ name: z.string(), active: z.string().nullable(), previous: z.string().nullable(), installed: z.array(z.string()) }).optional(),
  codeServer: z.object({ state: z.string(), memoryBytes: z.number().nullable(), port: z.number().optional() }).optional(),
});
export type DevStatus = z.infer<typeof devStatus>;

const MAX_ANSWER_BYTES = 64 * 1024;

/** A runtime install the agent refused because the artifact is not the one the catalog names. */
export class ArtifactRejectedError extends ZpackError {
  constructor(release: RuntimeRelease, agent: Record<string, unknown>) {
    super('artifact_rejected', 422, `the ${release.runtime} ${release.version} artifact was refused by the agent: ${String(agent.error ?? 'rejected')}`
      + (agent.actual ? ` (expected sha256 ${release.sha256}, got ${String(agent.actual)})` : ''), { runtime: release.runtime, version: release.version, agent });
  }
}

/** The dev part of the agent's API, over InstanceAgent.request: code-server lifecycle and runtime installs. */
export class DevAgent {
  constructor(private readonly agent: () => InstanceAgent) {}

  async codeServer(instance: InstanceView, action: CodeServerAction): Promise<DevStatus['codeServer']> {
    const answer = await this.call(instance, `/dev/codeserver/${action}`, {});
    return devStatus.shape.codeServer.parse(answer.body.codeServer);
  }

  async status(instance: InstanceView): Promise<DevStatus> {
    const answer = await this.call(instance, '/status', undefined, 'GET');
    return devStatus.parse(answer.body);
  }

  /** Downloads and verifies the release next to the active one; the active runtime does not change. */
  async install(instance: InstanceView, release: RuntimeRelease): Promise<void> {
    const answer = await this.call(instance, '/dev/runtime/install',
      { runtime: release.runtime, version: release.version, artifact: release.artifact, sha256: release.sha256 }, 'POST', [422]);
    if (answer.status === 422) throw new ArtifactRejectedError(release, answer.body);
  }

  /** Makes an installed version the active one; the agent keeps the one it replaces as `previous`. */
  async activate(instance: InstanceView, version: string): Promise<DevStatus['runtime']> {
    const answer = await this.call(instance, '/dev/runtime/activate', { version });
    return devStatus.shape.runtime.parse(answer.body.runtime);
  }

  private async call(instance: InstanceView, path: string, body: unknown, method: 'GET' | 'POST' = 'POST', accepted: number[] = []): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.agent().request(instance, {
      method, path,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : Readable.from([Buffer.from(JSON.stringify(body))]),
    });
    let text = '';
    for await (const chunk of res.body) {
      text += chunk;
      if (text.length > MAX_ANSWER_BYTES) throw new AgentError(`agent ${path} answered too much`, { status: res.status });
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new AgentError(`agent ${path} answered a body that is not JSON`, { status: res.status });
    }
    const ok = (res.status >= 200 && res.status < 300) || accepted.includes(res.status);
    if (!ok || typeof parsed !== 'object' || parsed === null) throw new AgentError(`agent ${path} failed: HTTP ${res.status}`, { status: res.status, body: parsed });
    return { status: res.status, body: parsed as Record<string, unknown> };
  }
}
