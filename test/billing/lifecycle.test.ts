import { expect } from 'chai';
import { Notifier, Tokens } from '../../kernel/api';
import { FakeClock, MemoryNotifier } from '../../kernel/testing';
import cloudflarePlugin from '../../plugins/cloudflare';
import { CloudflareSimulator } from '../../plugins/cloudflare/testing/simulator';
import stripePlugin from '../../plugins/stripe';
import { stripePluginConfig, subscribe, testStripe, transitions } from '../../plugins/stripe/testing/fixture';
import type { StripeSimulator } from '../../plugins/stripe/testing/simulator';
import velocityPlugin from '../../plugins/velocity';
import { backendName } from '../../plugins/velocity/backend';
import { VelocityConnection } from '../../plugins/velocity/connection';
import type { BridgeSimulator } from '../../plugins/velocity/testing/simulator';
import { closed, connect, PORTAL } from '../console/client';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, settle, startFleet, waitFor, type Fleet } from '../provisioning/fixture';

const DAY = 86_400_000;
const CF = { token: 'billing-cf-token', zone: '9a7806061c88ada191ed06f989cc3dac' };

/**
 * The whole enforcement lifecycle on a controllable clock, against the simulators of every
 * system it could harm: payment fails → warning → final warning → suspended → paid → active.
 */
describe('Billing enforcement lifecycle (nothing is ever destroyed)', () => {
  const clock = new FakeClock();
  const notifier = new MemoryNotifier('email');
  let fleet: Fleet;
  let cloudflare: CloudflareSimulator;
  let stripe: StripeSimulator;
  let target: { url: string };
  let bridge: BridgeSimulator;
  let tk: TestKernel;
  let user: TestUser;
  let subscriptionId: string;
  const servers: Record<'kept' | 'stoppedByOwner', { id: string; vmid: number }> = {} as never;

  before(async () => {
    fleet = await startFleet();
    cloudflare = new CloudflareSimulator({ port: 0, apiToken: CF.token });
    await cloudflare.start();
    ({ sim: stripe, target } = testStripe(clock));
    await stripe.start();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, cloudflarePlugin, velocityPlugin, stripePlugin],
      overrides: [{ token: Notifier, value: notifier }, { token: Tokens.Clock, value: clock }],
      config: fleetConfig(fleet, {
        console: { allowedOrigins: [PORTAL] },
        plugins: {
          cloudflare: { enabled: true, options: { simulate: false, baseUrl: cloudflare.url, apiToken: CF.token, zoneId: CF.zone, zoneName: 'play.example.test', target: 'proxy.play.example.test' } },
          velocity: { enabled: true, options: { simulate: true, simulator: { port: 0 }, proxyToken: 'billing-proxy-token', timeoutMs: 2000 } },
          ...stripePluginConfig(stripe, { graceDays: 7, finalWarningDays: 3 }),
        },
      }),
    });
    target.url = tk.url;
    bridge = tk.kernel.resolve(VelocityConnection).simulator!;
    user = await tk.user();
    subscriptionId = (await subscribe(stripe, user, 'modded')).id;
    for (const [name, key] of [['kept', 'life-1'], ['stoppedByOwner', 'life-2']] as const) {
      const op = await settle(user, (await create(user, key)).body.operation.id);
      expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
      servers[name] = { id: op.instanceId, vmid: (await user.http.get(`/api/servers/${op.instanceId}`)).body.server.vmid };
    }
    expect((await user.http.post(`/api/servers/${servers.stoppedByOwner.id}/power`, { action: 'stop' })).status).to.equal(202);
    await waitFor(() => bridge.backends().some((b) => b.name === backendName(servers.kept.vmid)), 'the running server is registered with the proxy');
  });
  after(async () => {
    await tk?.stop();
    await stripe?.stop();
    await cloudflare?.stop();
    await fleet?.stop();
  });

  const state = async () => (await user.http.get('/api/billing')).body.enforcement.state;
  const until = (s: string) => waitFor(async () => (await state()) === s, `the account is ${s}`);
  const serverState = async (id: string) => (await user.http.get(`/api/servers/${id}`)).body.server.state;
  const effectsDone = () => waitFor(async () => (await tk.kernel.ds.query(`SELECT effects_pending FROM billing_account WHERE account_id = $1`, [user.id]))[0].effects_pending === null, 'billing effects are done');

  it('payment fails → warning: servers keep running, backups still work, the customer is told', async () => {
    stripe.world.renew(subscriptionId, 'failed');
    await stripe.idle();
    await until('warning');
    const billing = (await user.http.get('/api/billing')).body;
    expect(new Date(billing.enforcement.nextStepAt).getTime() - new Date(billing.enforcement.since).getTime()).to.equal(7 * DAY);
    expect(billing.announcement).to.include({ severity: 'warning', title: 'Payment failed' });
    // The subject is the kernel's billing_warning template's.
    expect((await notifier.waitFor(user.email, 'billing_warning')).subject).to.match(/payment failed/i);
    expect(await serverState(servers.kept.id)).to.equal('running');
    expect((await user.http.post(`/api/servers/${servers.kept.id}/backups`, { name: 'still-fine' })).status).to.equal(202);
  });

  it('7 days later → final warning: a new backup is 423', async () => {
    clock.advance(7 * DAY + 1000);
    await until('final_warning');
    const backup = await user.http.post(`/api/servers/${servers.kept.id}/backups`, { name: 'blocked' });
    expect(backup.status).to.equal(423);
    expect(backup.body.error.code).to.equal('locked');
    await notifier.waitFor(user.email, 'billing_final_warning');
    expect(await serverState(servers.kept.id)).to.equal('running');
  });

  it('3 days later → suspended: servers stopped through the agent, the console closed, mutations 402, reads and downloads 200', async () => {
    const t = await user.http.post(`/api/servers/${servers.kept.id}/console/ticket`);
    const { ws } = await connect(`${tk.url.replace('http', 'ws')}/api/servers/${servers.kept.id}/console?ticket=${t.body.ticket}`);
    expect(ws, 'the console opened').to.not.equal(undefined);
    const closing = closed(ws!);

    clock.advance(3 * DAY + 1000);
    await until('suspended');
    await effectsDone();
    expect((await closing).code).to.equal(4402);
    expect(await serverState(servers.kept.id)).to.equal('stopped');
    expect(fleet.agents.containers().get(servers.kept.vmid)!.state).to.equal('stopped');
    await notifier.waitFor(user.email, 'billing_suspended');

    const kept = servers.kept.id;
    for (const [method, path, body] of [
      ['post', `/api/servers/${kept}/power`, { action: 'start' }],
      ['delete', `/api/servers/${kept}`, undefined],
      ['post', '/api/instances', { kind: 'game', type: 'minecraft', name: 'More', options: { version: '1.21.4', flavor: 'paper', memoryMb: 2048 } }],
    ] as const) {
      const res = method === 'post'
        ? await user.http.post(path, body, { headers: { 'idempotency-key': 'while-suspended' } })
        : await user.http.delete(path);
      expect(res.status, `${method} ${path}`).to.equal(402);
      expect(res.body.error.code).to.equal('billing_suspended');
    }
    // Destructive actions on the world: refused and audited like every other mutation.
    const backupId = (await user.http.get(`/api/servers/${kept}/backups`)).body.backups[0].id;
    expect((await user.http.post(`/api/servers/${kept}/backups/${backupId}/restore`)).status).to.equal(402);
    expect((await user.http.delete(`/api/servers/${kept}/backups/${backupId}`)).status).to.equal(402);
    const audited = await tk.kernel.ds.query(`SELECT detail FROM audit_event WHERE action = 'billing.refused' AND actor_id = $1`, [user.id]);
    expect(audited.map((a: { detail: { action: string } }) => a.detail.action)).to.include.members(['server.delete', 'power.start', 'server.create', 'backup.restore', 'backup.delete']);

    expect((await user.http.get(`/api/servers/${kept}`)).status).to.equal(200);
    expect((await user.http.get('/api/servers')).body.servers).to.have.length(2);
    expect((await user.http.get(`/api/servers/${kept}/files?path=%2F`)).status).to.equal(200);
    const download = await user.http.get(`/api/servers/${kept}/files/download?path=server.properties`);
    expect(download.status).to.equal(200);
    expect(download.text).to.include('motd=');
    expect((await user.http.get(`/api/servers/${kept}/backups`)).status).to.equal(200);
    expect((await user.http.get(`/api/servers/${kept}/status`)).body.billing).to.deep.equal({ state: 'suspended' });
  });

  it('invoice paid → active: exactly the servers that ran before start again and are registered with the proxy', async () => {
    stripe.world.payOpenInvoices(subscriptionId);
    await stripe.idle();
    await until('active');
    await effectsDone();
    expect(await serverState(servers.kept.id)).to.equal('running');
    expect(fleet.agents.containers().get(servers.kept.vmid)!.state).to.not.equal('stopped');
    // The agent tells the API its server is ready again (as after any start).
    const agentToken = tk.kernel.resolve(Tokens.AgentTokens).tokenFor(servers.kept.id);
    expect((await tk.http.post('/api/agent/events', { type: 'ready', instanceId: servers.kept.id }, { token: agentToken })).status).to.equal(202);
    await waitFor(() => bridge.backends().some((b) => b.name === backendName(servers.kept.vmid)), 'the restored server is registered again');
    // Stopped by its owner before the suspension: still stopped.
    expect(await serverState(servers.stoppedByOwner.id)).to.equal('stopped');
    expect(fleet.agents.containers().get(servers.stoppedByOwner.vmid)!.state).to.equal('stopped');
    await notifier.waitFor(user.email, 'billing_restored');
    expect((await user.http.get('/api/billing')).body.announcement).to.equal(null);
    expect((await user.http.post(`/api/servers/${servers.kept.id}/backups`, { name: 'after' })).status).to.equal(202);
  });

  it('the log holds each step once, in order, and nothing was destroyed anywhere', async () => {
    expect((await transitions(tk, user.id)).map((t) => `${t.from}→${t.to}`)).to.deep.equal([
      'active→warning', 'warning→final_warning', 'final_warning→suspended', 'suspended→active',
    ]);
    expect(fleet.proxmox.requests.filter((r) => r.method === 'DELETE')).to.deep.equal([]);
    expect(cloudflare.requests.filter((r) => r.method === 'DELETE')).to.deep.equal([]);
    expect(cloudflare.records(CF.zone)).to.have.length(2);
    const update = await tk.kernel.ds.query(`UPDATE billing_enforcement_event SET reason = 'x' WHERE account_id = $1`, [user.id]).then(() => null, (e: Error) => e);
    expect(update?.message).to.match(/append-only/);
  });
});
