import { expect } from 'chai';
import { z } from 'zod';
import { ConflictError, Tokens, definePlugin, operationAccepted } from '../../kernel/api';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, settle, startFleet, type Fleet } from '../provisioning/fixture';

/** What the phases did, in order, per server. */
const done: string[] = [];
let release: (() => void) | undefined;

const tasksPlugin = definePlugin({
  name: 'tasks',
  version: '1.0.0',
  kernelApi: '2',
  description: 'a plugin operation with phases, for the kernel contract',
  config: z.object({}),
  register(ctx) {
    ctx.operations.define<{ note: string; failAt?: string; hold?: boolean }>('touch', {
      phases: ['prepare', 'apply'],
      async run(phase, step) {
        if (step.input.hold && phase === 'prepare') await new Promise<void>((r) => { release = r; });
        if (step.input.failAt === phase) throw new ConflictError(`refused at ${phase}`, { phase });
        step.record({ [phase]: step.input.note });
        done.push(`${phase}:${step.input.note}:${JSON.stringify(step.progress)}`);
      },
      async undo(failedPhase, _err, step) {
        done.push(`undo:${failedPhase}:${step.input.note}`);
      },
    });
    ctx.routes((r) => r.route({
      method: 'post', path: '/api/servers/:id/touch', operationId: 'touchServer', summary: 'Touch a server (test operation)',
      auth: 'user', params: z.object({ id: z.uuid() }),
      body: z.object({ note: z.string(), failAt: z.string().optional(), hold: z.boolean().optional() }),
      responses: { 202: operationAccepted }, errors: [402, 409, 422],
      handler: async ({ params, body, account, koa }) => {
        await ctx.resolve(Tokens.Access).require(account, params.id, 'settings', { mutation: true, action: 'tasks.touch' });
        const operation = await ctx.resolve(Tokens.Operations).start(account, params.id, 'tasks.touch', body, { idempotencyKey: koa.get('idempotency-key') || undefined });
        return { status: 202, body: { operation } };
      },
    }));
  },
});

describe('Plugin operations (ctx.operations.define, Tokens.Operations)', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  let serverId: string;

  before(async () => {
    fleet = await startFleet();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, tasksPlugin],
      config: fleetConfig(fleet, { plugins: { tasks: { enabled: true, options: {} } } }),
    });
    owner = await tk.user({ email: 'ops-owner@zpack.test' });
    const res = await create(owner, 'ops-create');
    const op = await settle(owner, res.body.operation.id);
    expect(op.state).to.equal('succeeded');
    serverId = op.instanceId;
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  it('runs the phases in order, each seeing what the earlier recorded, and shows the operation like create', async () => {
    const res = await owner.http.post(`/api/servers/${serverId}/touch`, { note: 'one' });
    expect(res.status).to.equal(202);
    expect(res.body.operation).to.include({ kind: 'tasks.touch', instanceId: serverId });
    const op = await settle(owner, res.body.operation.id);
    expect(op).to.include({ state: 'succeeded', phase: 'done', kind: 'tasks.touch' });
    expect(done).to.include.members(['prepare:one:{"prepare":"one"}', 'apply:one:{"prepare":"one","apply":"one"}']);
  });

  it('undoes a failed phase and fails with its error and phase', async () => {
    const res = await owner.http.post(`/api/servers/${serverId}/touch`, { note: 'two', failAt: 'apply' });
    const op = await settle(owner, res.body.operation.id);
    expect(op.state).to.equal('failed');
    expect(op.error).to.deep.include({ code: 'conflict', phase: 'apply', message: 'refused at apply' });
    expect(done).to.include('undo:apply:two');
    expect(done.filter((d) => d.startsWith('apply:two'))).to.deep.equal([]);
  });

  it('answers the same operation for a repeated Idempotency-Key, 422 for the key with another body', async () => {
    const headers = { 'idempotency-key': 'touch-three' };
    const first = await owner.http.post(`/api/servers/${serverId}/touch`, { note: 'three' }, { headers });
    const again = await owner.http.post(`/api/servers/${serverId}/touch`, { note: 'three' }, { headers });
    expect(again.body.operation.id).to.equal(first.body.operation.id);
    await settle(owner, first.body.operation.id);
    const other = await owner.http.post(`/api/servers/${serverId}/touch`, { note: 'four' }, { headers });
    expect(other.status).to.equal(422);
    expect(other.body.error.code).to.equal('idempotency_key_reused');
  });

  it('refuses a second operation on the server while one runs (409 operation_in_progress)', async () => {
    const held = await owner.http.post(`/api/servers/${serverId}/touch`, { note: 'held', hold: true });
    expect(held.status).to.equal(202);
    const second = await owner.http.post(`/api/servers/${serverId}/touch`, { note: 'second' });
    expect(second.status).to.equal(409);
    expect(second.body.error.code).to.equal('operation_in_progress');
    const deleting = await owner.http.delete(`/api/servers/${serverId}`);
    expect(deleting.status).to.equal(409);
    for (let i = 0; i < 200 && !release; i++) await new Promise((r) => setTimeout(r, 25));
    release!();
    expect((await settle(owner, held.body.operation.id)).state).to.equal('succeeded');
  });

  it("answers 404 for another account's server and starts nothing", async () => {
    const stranger = await tk.user({ email: 'ops-stranger@zpack.test' });
    const before = await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM provisioning_operation WHERE kind = 'tasks.touch'`);
    const res = await stranger.http.post(`/api/servers/${serverId}/touch`, { note: 'theirs' });
    expect(res.status).to.equal(404);
    const after = await tk.kernel.ds.query(`SELECT count(*)::int AS n FROM provisioning_operation WHERE kind = 'tasks.touch'`);
    expect(after[0].n).to.equal(before[0].n);
  });
});
