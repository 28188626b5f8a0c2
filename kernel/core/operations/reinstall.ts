import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { ConflictError, InstanceAgent, InvalidRequestError, instanceTypeOf } from '../../api';
import type { AgentTokens, InstanceType, OperationDefinition, OperationStepContext } from '../../api';
import { Account, Instance, ProvisioningOperation, accountView } from '../entities';
import type { BackupRotation } from '../routes/backups';
import type { InstanceReadiness } from './readiness';
import { fromAgentError } from '../files/agent-failures';

export interface ServerSetupDeps {
  ds: DataSource;
  agent: () => InstanceAgent;
  types: () => readonly InstanceType[];
  agentTokens: AgentTokens;
  controlPlaneUrl: string;
  readiness: InstanceReadiness;
  backups: BackupRotation;
}

/** What a reinstall does: new options (version, flavor) kept in the type's terms, and whether the files go. */
export interface ReinstallInput {
  options: Record<string, unknown>;
  wipe: boolean;
}

/** How long a reinstall waits for its safety backup before failing (the agent archives the whole folder). */
const BACKUP_WAIT_MS = 120_000;

/** The type of a server and the options it runs with now (as created, or as last changed). */
export async function currentOptions(d: Pick<ServerSetupDeps, 'ds' | 'types'>, instance: Instance): Promise<{ type: InstanceType; options: Record<string, unknown> }> {
  const type = instanceTypeOf(d.types(), instance);
  if (!type) throw new ConflictError(`The type "${instance.type}" of this server is not enabled`);
  if (instance.options) return { type, options: instance.options };
  const created = await d.ds.getRepository(ProvisioningOperation).findOneBy({ instanceId: instance.id, kind: 'create' });
  const request = (created?.input as { request?: { options?: Record<string, unknown> } } | undefined)?.request;
  return { type, options: request?.options ?? {} };
}

/** Options merged and checked by the type's own schema: a bad value is 400 naming the field. */
export function mergedOptions(type: InstanceType, options: Record<string, unknown>, change: Record<string, unknown>): Record<string, unknown> {
  const parsed = type.optionsSchema.safeParse({ ...options, ...change });
  if (parsed.success) return parsed.data as Record<string, unknown>;
  throw new InvalidRequestError('Invalid options for this server\'s type', {
    fields: parsed.error.issues.map((i) => ({ path: `body.${i.path.join('.')}`, message: i.message })),
  });
}

/** The type's plan and the agent's provision payload for these options, as the provision worker builds them. */
export async function setupFor(d: ServerSetupDeps, instance: Instance, type: InstanceType, options: Record<string, unknown>) {
  const owner = await d.ds.getRepository(Account).findOneByOrFail({ id: instance.ownerId });
  const plan = await type.plan({ account: accountView(owner), kind: type.kind, type: type.type, name: instance.name, options, portNeeds: [], agentPayload: {} });
  const payload = {
    ...plan.agentPayload, instanceId: instance.id, kind: plan.kind, type: plan.type, ports: instance.ports,
    agentToken: d.agentTokens.tokenFor(instance.id), controlPlaneUrl: d.controlPlaneUrl,
  };
  return { plan, payload };
}

const call = <T>(p: Promise<T>): Promise<T> => p.catch((err: unknown) => { throw fromAgentError(err); });

/**
 * `kernel.reinstall`: a backup first (kept even if everything after fails), the server stopped,
 * its files wiped only when asked, the agent handed the new options, the server started again.
 */
export function reinstallOperation(d: ServerSetupDeps): OperationDefinition<ReinstallInput> {
  const agent = () => d.agent();
  const steps: Record<string, (ctx: OperationStepContext<ReinstallInput>) => Promise<void>> = {
    async backup(ctx) {
      const id = (ctx.progress.backupId as string | undefined)
        ?? (await d.backups.create(ctx.instance, `before-reinstall-${ctx.operationId.slice(0, 8)}`)).id;
      ctx.record({ backupId: id });
      const deadline = Date.now() + BACKUP_WAIT_MS;
      for (;;) {
        const backup = (await call(agent().listBackups(ctx.instance))).find((b) => b.id === id);
        if (backup?.state === 'ready') return;
        if (!backup || backup.state === 'failed') throw new ConflictError('The backup taken before the reinstall failed; nothing was changed', { backupId: id });
        if (Date.now() > deadline) throw new ConflictError('The backup taken before the reinstall did not finish in time; nothing was changed', { backupId: id });
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop(ctx) {
      await call(agent().power(ctx.instance, 'stop'));
      await d.ds.getRepository(Instance).update(ctx.instance.id, { state: 'stopped' });
      await d.readiness.lost(ctx.instance.id);
    },
    async wipe(ctx) {
      if (!ctx.input.wipe) return;
      const listing = await call(agent().request(ctx.instance, { method: 'GET', path: '/files', query: { path: '' } }));
      const { entries } = JSON.parse(await text(listing.body)) as { entries: Array<{ path: string }> };
      if (!entries.length) return;
      const body = Buffer.from(JSON.stringify({ paths: entries.map((e) => e.path) }));
      const res = await call(agent().request(ctx.instance, {
        method: 'POST', path: '/files/delete', headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, body: Readable.from([body]),
      }));
      await text(res.body);
      if (res.status >= 400) throw new ConflictError('The server\'s files could not be wiped', { agent: { status: res.status } });
    },
    async reinstall(ctx) {
      const row = await d.ds.getRepository(Instance).findOneByOrFail({ id: ctx.instance.id });
      const { type } = await currentOptions(d, row);
      const { payload } = await setupFor(d, row, type, ctx.input.options);
      await ctx.retry(() => call(agent().provision(ctx.instance, payload)), 3);
      row.options = ctx.input.options;
      await d.ds.getRepository(Instance).save(row);
    },
    async start(ctx) {
      await call(agent().power(ctx.instance, 'start'));
      await d.ds.getRepository(Instance).update(ctx.instance.id, { state: 'running' });
    },
  };
  return {
    phases: ['backup', 'stop', 'wipe', 'reinstall', 'start'],
    run: (phase, ctx) => steps[phase](ctx),
  };
}

async function text(body: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
