import { expect } from 'chai';
import { z } from 'zod';
import { HostingProvider, definePlugin } from '../../kernel/api';
import type { TestKernel, TestUser } from '../harness';
import { allocations, create, fleetConfig, fleetPlugins, settle, startFleet, type Fleet } from './fixture';
import { startTestKernel } from '../harness';

/** A plugin whose teardown part fails while `failing` is set, like an edge API that is down. */
const flaky = { failing: false, calls: 0 };
const flakyEdge = definePlugin({
  name: 'flaky-edge', version: '1.0.0', kernelApi: '2', config: z.object({}),
  register(ctx) {
    ctx.hooks.onTeardown.tapPromise('flaky-edge', async (_instance, report) => {
      flaky.calls++;
      if (flaky.failing) throw new Error('edge API answered 503');
      report.record('edge_unpublish', 'already_gone');
    });
  },
});

describe('DELETE /api/servers/:id', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let user: TestUser;

  before(async () => {
    fleet = await startFleet();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, flakyEdge],
      config: fleetConfig(fleet, { plugins: { 'flaky-edge': { enabled: true } } }),
    });
    user = await tk.user();
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  async function running(key: string) {
    const op = await settle(user, (await create(user, key)).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    return (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
  }
  async function remove(id: string) {
    const res = await user.http.delete(`/api/servers/${id}`);
    expect(res.status).to.equal(202);
    expect(res.body.operation.kind).to.equal('delete');
    return settle(user, res.body.operation.id);
  }

  it('stops, runs plugin parts, destroys, releases and marks deleted, with a report per step', async () => {
    const server = await running('td-1');
    const op = await remove(server.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    expect(op.report.map((s: any) => [s.step, s.outcome])).to.deep.equal([
      ['stop', 'done'], ['edge_unpublish', 'already_gone'], ['plugins', 'done'], ['destroy', 'done'], ['release', 'done'], ['mark_deleted', 'done'],
    ]);
    expect(fleet.proxmox.containers().find((c) => c.vmid === server.vmid)).to.equal(undefined);
    expect((await user.http.get(`/api/servers/${server.id}`)).status).to.equal(404);
    const held = await allocations(tk);
    expect(held.vmids).not.to.include(server.vmid);
    expect(server.ports).to.have.length.greaterThan(0);
    expect(held.ports).not.to.include.members(server.ports.map((p: any) => p.port));
    const [rows] = await tk.kernel.ds.query(
      `SELECT (SELECT count(*)::int FROM vmid_allocation WHERE instance_id = $1) AS vmids, (SELECT count(*)::int FROM port_allocation WHERE instance_id = $1) AS ports`,
      [server.id]);
    expect(rows, 'no allocation row left for the instance').to.deep.equal({ vmids: 0, ports: 0 });
  });

  it('treats a container that is already gone as done', async () => {
    const server = await running('td-2');
    await tk.kernel.resolve(HostingProvider).destroy({ vmid: server.vmid, node: server.node });
    const op = await remove(server.id);
    expect(op.state).to.equal('succeeded');
    const outcome = Object.fromEntries(op.report.map((s: any) => [s.step, s.outcome]));
    expect(outcome).to.include({ stop: 'already_gone', destroy: 'already_gone', mark_deleted: 'done' });
  });

  it('a failing step leaves the operation failed with its report; running it again finishes', async () => {
    const server = await running('td-3');
    flaky.failing = true;
    const failed = await remove(server.id);
    expect(failed.state).to.equal('failed');
    expect(failed.error.message).to.match(/onTeardown tap "flaky-edge" failed: edge API answered 503/);
    const outcome = Object.fromEntries(failed.report.map((s: any) => [s.step, s.outcome]));
    expect(outcome).to.include({ stop: 'done', 'plugin:flaky-edge': 'failed', plugins: 'failed' });
    expect(outcome).not.to.have.property('destroy');
    expect(fleet.proxmox.containers().find((c) => c.vmid === server.vmid), 'nothing destroyed past the failure').to.include({ status: 'stopped' });
    expect((await user.http.get(`/api/servers/${server.id}`)).body.server.state).to.equal('error');

    flaky.failing = false;
    const again = await remove(server.id);
    expect(again.state, JSON.stringify(again.error)).to.equal('succeeded');
    expect(again.id).not.to.equal(failed.id);
    expect(fleet.proxmox.containers().find((c) => c.vmid === server.vmid)).to.equal(undefined);
  });

  it('a Proxmox outage during destroy fails the operation; a rerun after it clears succeeds', async function () {
    this.timeout(30_000);
    const server = await running('td-4');
    fleet.proxmox.faults.errorRatio = 1;
    const failed = await remove(server.id);
    fleet.proxmox.faults.errorRatio = 0;
    expect(failed.state).to.equal('failed');
    expect(failed.error.code).to.equal('provider_error');
    expect((await allocations(tk)).vmids, 'allocations kept while the container may exist').to.include(server.vmid);
    const again = await remove(server.id);
    expect(again.state).to.equal('succeeded');
    expect((await allocations(tk)).vmids).not.to.include(server.vmid);
  });

  it('concurrent deletes collapse into one operation', async () => {
    const server = await running('td-5');
    const responses = await Promise.all(Array.from({ length: 10 }, () => user.http.delete(`/api/servers/${server.id}`)));
    expect(responses.map((r) => r.status)).to.deep.equal(Array(10).fill(202));
    expect(new Set(responses.map((r) => r.body.operation.id)).size).to.equal(1);
    expect((await settle(user, responses[0].body.operation.id)).state).to.equal('succeeded');
  });

  it('released VMIDs and ports are granted again', async () => {
    const { vmids: held } = await allocations(tk);
    const server = await running('td-6');
    const lowestFree = Array.from({ length: 1000 }, (_, i) => 5000 + i).find((v) => !held.includes(v));
    expect(server.vmid).to.equal(lowestFree);
    expect(server.vmid).to.be.lessThan(5005);
  });

  it('refuses a delete while the create still runs with 409 operation_in_progress', async () => {
    fleet.proxmox.faults.latencyMs = 300;
    try {
      const accepted = await create(user, 'td-7');
      const res = await user.http.delete(`/api/servers/${accepted.body.operation.instanceId}`);
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal('operation_in_progress');
      expect(res.body.error.details.operationId).to.equal(accepted.body.operation.id);
    } finally {
      fleet.proxmox.faults.latencyMs = 0;
    }
  });
});
