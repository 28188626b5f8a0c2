import { expect } from 'chai';
import type { TestKernel, TestUser } from '../harness';
import { create, settle, startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';
import { PORTAL, closed, connect, nextMessage } from './client';

describe('Console WebSocket', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  let serverId: string;

  before(async () => {
    fleet = await startFleet();
    tk = await startFleetKernel(fleet, {
      config: { console: { allowedOrigins: [PORTAL], connectTimeoutMs: 500, ticketTtlSeconds: 2, maxMessageBytes: 1024 * 1024 } },
    });
    owner = await tk.user();
    serverId = (await settle(owner, (await create(owner, 'console')).body.operation.id)).instanceId;
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  const wsUrl = (id: string, ticket?: string) => `${tk.url.replace('http', 'ws')}/api/servers/${id}/console${ticket ? `?ticket=${ticket}` : ''}`;
  const ticketFor = async (user: TestUser, id: string) => {
    const res = await user.http.post(`/api/servers/${id}/console/ticket`);
    expect(res.status).to.equal(200);
    expect(res.body.expiresIn).to.equal(2);
    return res.body.ticket as string;
  };

  it('bridges the agent PTY: commands go in, server output comes out', async () => {
    const { ws } = await connect(wsUrl(serverId, await ticketFor(owner, serverId)));
    ws!.send('say hello from the portal');
    expect(await nextMessage(ws!, /\[Server\] hello from the portal/)).to.match(/hello from the portal/);
    ws!.close();
  });

  describe('is refused before the upgrade', () => {
    it('without a ticket (401)', async () => {
      const res = await connect(wsUrl(serverId));
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('unauthenticated');
    });

    it('with a ticket already used (single use)', async () => {
      const ticket = await ticketFor(owner, serverId);
      const first = await connect(wsUrl(serverId, ticket));
      expect(first.ws).to.not.equal(undefined);
      first.ws!.close();
      expect((await connect(wsUrl(serverId, ticket))).status).to.equal(401);
    });

    it('with an expired ticket', async () => {
      const ticket = await ticketFor(owner, serverId);
      await new Promise((r) => setTimeout(r, 2200));
      expect((await connect(wsUrl(serverId, ticket))).status).to.equal(401);
    });

    it('with a ticket for another server', async () => {
      const otherId = (await settle(owner, (await create(owner, 'console-2')).body.operation.id)).instanceId;
      const ticket = await ticketFor(owner, otherId);
      expect((await connect(wsUrl(serverId, ticket))).status).to.equal(401);
    });

    it('for another user’s server: no ticket is issued (404)', async () => {
      const stranger = await tk.user();
      const res = await stranger.http.post(`/api/servers/${serverId}/console/ticket`);
      expect(res.status).to.equal(404);
    });

    it('from an Origin that is not allowed (403), without spending the ticket', async () => {
      const ticket = await ticketFor(owner, serverId);
      const res = await connect(wsUrl(serverId, ticket), { origin: 'https://evil.example' });
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal('forbidden');
      const ok = await connect(wsUrl(serverId, ticket));
      expect(ok.ws).to.not.equal(undefined);
      ok.ws!.close();
    });

    it('without an Origin header (403: not a browser, and console.allowMissingOrigin is off), without spending the ticket', async () => {
      const ticket = await ticketFor(owner, serverId);
      const res = await connect(wsUrl(serverId, ticket), {});
      expect(res.status).to.equal(403);
      expect(res.body.error).to.include({ code: 'forbidden', message: 'An Origin header is required to open a console' });
      const ok = await connect(wsUrl(serverId, ticket));
      expect(ok.ws).to.not.equal(undefined);
      ok.ws!.close();
    });

    it('with user A’s ticket on user B’s server (401)', async () => {
      const a = await tk.user();
      const aServer = (await settle(a, (await create(a, 'console-a')).body.operation.id)).instanceId;
      const res = await connect(wsUrl(serverId, await ticketFor(a, aServer)));
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('unauthenticated');
    });

    it('with X-Request-Id on every refusal, the caller’s own when it sent one', async () => {
      const refusals = [
        await connect(wsUrl(serverId)),
        await connect(wsUrl(serverId), {}),
        await connect(`${tk.url.replace('http', 'ws')}/api/nothing-here`),
      ];
      expect(refusals.map((r) => r.status)).to.deep.equal([401, 403, 404]);
      for (const r of refusals) expect(r.headers!['x-request-id']).to.equal(r.body.error.requestId).and.match(/^[0-9a-f-]{36}$/);
      const traced = await connect(wsUrl(serverId), { origin: PORTAL, 'x-request-id': 'trace-console-1' });
      expect(traced.headers!['x-request-id']).to.equal('trace-console-1');
      expect(traced.body.error.requestId).to.equal('trace-console-1');
    });

    it('on an unknown WebSocket path (404)', async () => {
      expect((await connect(`${tk.url.replace('http', 'ws')}/api/nothing-here`)).status).to.equal(404);
    });
  });

  it('closes with a code and a reason when the agent does not answer in time', async () => {
    const vmid = (await owner.http.get(`/api/servers/${serverId}`)).body.server.vmid;
    fleet.agents.faults.unreachable = new Set([vmid]);
    try {
      const { ws } = await connect(wsUrl(serverId, await ticketFor(owner, serverId)));
      const end = await closed(ws!);
      expect(end.code).to.equal(4504);
      expect(end.reason).to.match(/agent unreachable/);
      expect(end.ms).to.be.lessThan(3000);
    } finally {
      fleet.agents.faults.unreachable = false;
    }
  });

  it('closes with 1009 when a message is over the cap (2 MiB)', async () => {
    const { ws } = await connect(wsUrl(serverId, await ticketFor(owner, serverId)));
    await nextMessage(ws!, /./);
    const end = closed(ws!);
    ws!.send(Buffer.alloc(2 * 1024 * 1024, 'a').toString());
    expect((await end).code).to.equal(1009);
  });

  it('closes when the account is suspended', async () => {
    const { ws } = await connect(wsUrl(serverId, await ticketFor(owner, serverId)));
    await nextMessage(ws!, /./);
    const end = closed(ws!);
    await tk.kernel.hooks.onBillingSuspend.promise({ id: owner.id, email: owner.email, role: 'user', billingExempt: false }, 'suspended');
    expect(await end).to.include({ code: 4402, reason: 'account suspended' });
  });

  it('closes when the server is deleted', async () => {
    const id = (await settle(owner, (await create(owner, 'console-doomed')).body.operation.id)).instanceId;
    const { ws } = await connect(wsUrl(id, await ticketFor(owner, id)));
    await nextMessage(ws!, /./);
    const end = closed(ws!);
    expect((await owner.http.delete(`/api/servers/${id}`)).status).to.equal(202);
    expect(await end).to.include({ code: 4410, reason: 'server deleted' });
  });
});

describe('Console liveness', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  before(async () => {
    fleet = await startFleet();
    tk = await startFleetKernel(fleet, { config: { console: { pingIntervalMs: 150, allowMissingOrigin: true } } });
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  it('lets a client without Origin in when console.allowMissingOrigin is set, and closes it once it stops answering pings', async () => {
    const user = await tk.user();
    const id = (await settle(user, (await create(user, 'dead-peer')).body.operation.id)).instanceId;
    const ticket = (await user.http.post(`/api/servers/${id}/console/ticket`)).body.ticket;
    const { ws } = await connect(`${tk.url.replace('http', 'ws')}/api/servers/${id}/console?ticket=${ticket}`, {});
    await nextMessage(ws!, /./);
    const vmid = (await user.http.get(`/api/servers/${id}`)).body.server.vmid;
    const consoles = () => fleet.agents.containers().get(vmid)!.consoles;
    expect(consoles()).to.equal(1);
    // A frozen peer: its socket stops reading, so pings go unanswered.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    for (let i = 0; i < 60 && consoles() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(consoles(), 'the bridge let go of the agent console').to.equal(0);
    ws!.terminate();
  });
});
