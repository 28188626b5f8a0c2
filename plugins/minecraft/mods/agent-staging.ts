import { Readable } from 'node:stream';
import { z } from 'zod';
import { AgentError, ZpackError } from '../../../kernel/api';
import type { InstanceAgent, InstanceView } from '../../../kernel/api';

/** The agent fetched a file whose bytes do not match the catalog's hash: nothing was kept. */
export class HashMismatchError extends ZpackError {
  constructor(path: string, details: Record<string, unknown>) {
    super('hash_mismatch', 502, `The download of ${path} does not match its sha512; nothing was installed`, { path, ...details });
  }
}

export type StagedChange =
  | { put: { id: string; path: string } }
  | { move: { from: string; to: string } }
  | { delete: { path: string } };

const staged = z.object({ id: z.string(), sha512: z.string(), sizeBytes: z.number().int() });
const applied = z.object({ applied: z.number().int() });

/**
 * The agent's staged downloads (plugins/agent/README.md, "Staged downloads"): the agent fetches a
 * file and checks its sha512 outside the server folder, and applies a batch of puts, moves and
 * deletes to the folder all or nothing.
 */
export class AgentStaging {
  constructor(private readonly agent: () => InstanceAgent) {}

  async fetch(instance: InstanceView, file: { url: string; sha512: string; sizeBytes: number; path: string }): Promise<string> {
    const res = await this.call(instance, 'POST', '/staging', { url: file.url, sha512: file.sha512, sizeBytes: file.sizeBytes });
    if (res.status === 422 && res.body?.error === 'hash_mismatch') {
      throw new HashMismatchError(file.path, { expected: file.sha512, actual: res.body.actual });
    }
    if (res.status === 502 && res.body?.error === 'download_failed') {
      throw new ZpackError('download_failed', 502, `The agent could not download ${file.path}`, { path: file.path, upstreamStatus: res.body.status });
    }
    return this.parse('stage a download', res, 201, staged).id;
  }

  async apply(instance: InstanceView, changes: StagedChange[]): Promise<number> {
    const res = await this.call(instance, 'POST', '/staging/apply', { changes });
    return this.parse('apply mod changes', res, 200, applied).applied;
  }

  async discard(instance: InstanceView, id: string): Promise<void> {
    const res = await this.call(instance, 'DELETE', `/staging/${encodeURIComponent(id)}`);
    if (res.status !== 204 && res.status !== 404) throw new AgentError('the agent refused to discard a staged download', { status: res.status, body: res.body });
  }

  private async call(instance: InstanceView, method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await this.agent().request(instance, {
      method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : Readable.from([Buffer.from(JSON.stringify(body))]),
    });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(Buffer.from(chunk));
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text.slice(0, 2048);
    }
    return { status: res.status, body: parsed };
  }

  private parse<S extends z.ZodType>(what: string, res: { status: number; body: unknown }, expected: number, schema: S): z.infer<S> {
    const parsed = res.status === expected ? schema.safeParse(res.body) : undefined;
    if (!parsed?.success) throw new AgentError(`the agent could not ${what}`, { status: res.status, body: res.body });
    return parsed.data;
  }
}
