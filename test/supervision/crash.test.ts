import { expect } from 'chai';
import { InstanceType, KernelQueue, Tokens } from '../../kernel/api';
import emailPlugin from '../../plugins/email';
import { SmtpSink } from '../../plugins/email/testing/smtp-sink';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, settle, startFleet, type Fleet } from '../provisioning/fixture';

const TAILS: Record<string, string[]> = {
  oom: ['[12:00:01] [Server thread/ERROR]: Encountered an unexpected exception', 'java.lang.OutOfMemoryError: Java heap space'],
  mod_or_plugin_error: ['[12:00:01] [Server thread/ERROR]: Error occurred while enabling WorldEdit v7.3.0 (Is it up to date?)'],
  missing_dependency: ["Mod 'Sodium Extra' (sodium-extra) 0.5.4 requires any version of sodium, which is missing!"],
  nonzero_exit: ['[12:00:01] [Server thread/INFO]: Saving chunks for level'],
  unexpected_exit: ['[12:00:01] [Server thread/INFO]: Done (4.1s)! For help, type "help"'],
};

describe('Crash supervision', () => {
  let fleet: Fleet;
  let smtp: SmtpSink;
  let tk: TestKernel;
  let user: TestUser;

  before(async () => {
    fleet = await startFleet();
    smtp = await new SmtpSink().start();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, emailPlugin],
      config: fleetConfig(fleet, {
        plugins: { email: { enabled: true, options: { from: 'zpack <ops@zpack.test>', transport: 'smtp', smtp: { host: '127.0.0.1', port: smtp.port } } } },
      }),
    });
    user = await tk.user();
  });
  after(async () => {
    await tk?.stop();
    await smtp?.stop();
    await fleet?.stop();
  });

  async function server(key: string, owner = user): Promise<string> {
    const op = await settle(owner, (await create(owner, key)).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    return op.instanceId;
  }
  const token = (instanceId: string) => tk.kernel.resolve(Tokens.AgentTokens).tokenFor(instanceId);
  let clock = Date.now();
  function crash(instanceId: string, fields: Record<string, unknown> = {}, bearer = token(instanceId)) {
    clock += 1000;
    return tk.http.post('/api/agent/events', {
      type: 'crash', instanceId, at: new Date(clock).toISOString(), exitCode: 1, signal: null, uptimeSeconds: 5, logTail: TAILS.nonzero_exit, ...fields,
    }, { token: bearer });
  }
  const delayedRestarts = async (instanceId: string) => (await tk.kernel.queues.queue(KernelQueue.provisioning).getDelayed())
    .filter((j) => j.name === 'instance.restart' && j.data.instanceId === instanceId)
    .map((j) => j.opts.delay).sort((a, b) => a! - b!);

  describe('POST /api/agent/events', () => {
    it('refuses a missing, forged or another instance’s token with 401, before reading the body', async () => {
      const a = await server('auth-a');
      const b = await server('auth-b');
      expect((await crash(a, {}, '')).status).to.equal(401);
      expect((await crash(a, {}, `${a}.forged-mac-forged-mac-forged-mac-forged-ma`)).status).to.equal(401);
      expect((await crash(a, {}, token(b))).status).to.equal(401);
      expect((await tk.http.request('POST', '/api/agent/events', { raw: '{not json', headers: { 'content-type': 'application/json' } })).status).to.equal(401);
      const access = (await user.http.get('/api/me')).status === 200 ? user.accessToken : '';
      expect((await crash(a, {}, access)).status, 'a user access token is not an agent token').to.equal(401);
      expect((await user.http.get(`/api/servers/${a}/crashes`)).body.crashes).to.deep.equal([]);
    });

    it('an agent token opens no user route, not even its own server\'s (401)', async () => {
      const a = await server('agent-as-user');
      const agent = tk.http.as(token(a));
      for (const [method, path] of [['GET', `/api/servers/${a}`], ['GET', `/api/servers/${a}/files?path=/`], ['POST', `/api/servers/${a}/power`], ['POST', `/api/servers/${a}/console/ticket`], ['GET', '/api/me'], ['GET', '/api/servers']] as const) {
        const res = await agent.request(method, path, { body: method === 'POST' ? { action: 'stop' } : undefined });
        expect(res.status, `${method} ${path}: ${res.text}`).to.equal(401);
        expect(res.body.error.code).to.equal('unauthenticated');
      }
      expect((await user.http.get(`/api/servers/${a}`)).body.server.state).to.equal('running');
    });
  });

  it('three quick crashes restart at 30 s, 60 s, 120 s; the fourth leaves the server in error', async () => {
    const id = await server('quick');
    const actions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await crash(id);
      expect(res.status).to.equal(202);
      actions.push((await user.http.get(`/api/servers/${id}/crashes`)).body.crashes[0].supervisorAction);
      expect((await user.http.get(`/api/servers/${id}`)).body.server.state).to.equal('crashed');
    }
    expect(actions).to.deep.equal(['restart_1', 'restart_2', 'restart_3']);
    expect(await delayedRestarts(id)).to.deep.equal([30_000, 60_000, 120_000]);
    const fourth = await crash(id);
    expect(fourth.body.restartAt).to.equal(null);
    expect((await user.http.get(`/api/servers/${id}`)).body.server.state).to.equal('error');
    const crashes = (await user.http.get(`/api/servers/${id}/crashes`)).body.crashes;
    expect(crashes).to.have.length(4);
    expect(crashes[0].supervisorAction).to.equal('error');
    expect(new Date(crashes[0].crashedAt).getTime()).to.be.greaterThan(new Date(crashes[1].crashedAt).getTime());
  });

  it('a crash after 40 s of uptime resets the backoff to 30 s', async () => {
    const id = await server('reset');
    await crash(id);
    await crash(id);
    const res = await crash(id, { uptimeSeconds: 40 });
    expect(new Date(res.body.restartAt).getTime() - Date.now()).to.be.within(25_000, 31_000);
    expect((await user.http.get(`/api/servers/${id}/crashes`)).body.crashes[0].supervisorAction).to.equal('restart_1');
  });

  it('recognises each class from its log tail and shows the last crash in /status', async () => {
    const id = await server('classes');
    for (const [cls, logTail] of Object.entries(TAILS)) {
      const res = await crash(id, { logTail, exitCode: cls === 'unexpected_exit' ? 0 : 1, uptimeSeconds: 100 });
      expect(res.body.classification, cls).to.equal(cls);
    }
    const status = (await user.http.get(`/api/servers/${id}/status`)).body;
    expect(status.crash).to.include({ classification: 'unexpected_exit', exitCode: 0 });
    expect(status).to.include({ state: 'crashed', ready: false });
  });

  it('a repeated event (same instant) is stored once', async () => {
    const id = await server('dupe');
    const at = new Date().toISOString();
    const body = { type: 'crash', instanceId: id, at, exitCode: 1, signal: null, uptimeSeconds: 3, logTail: [] };
    const [r1, r2] = await Promise.all([tk.http.post('/api/agent/events', body, { token: token(id) }), tk.http.post('/api/agent/events', body, { token: token(id) })]);
    expect([r1.status, r2.status]).to.deep.equal([202, 202]);
    expect((await user.http.get(`/api/servers/${id}/crashes`)).body.crashes).to.have.length(1);
    expect(await delayedRestarts(id)).to.have.length(1);
  });

  it('classifies a crash once, by its type; onCrash taps see that class and cannot change it', async () => {
    const type = tk.kernel.resolveAll(InstanceType).find((t) => t.type === 'minecraft')!;
    const classified: string[] = [];
    const classify = type.classifyCrash.bind(type);
    type.classifyCrash = (crash) => {
      const cls = classify(crash);
      classified.push(cls);
      return cls;
    };
    const id = await server('classified-once');
    const seen: Array<string | undefined> = [];
    tk.kernel.hooks.onCrash.tapPromise('crash-recorder', async (crash, instance) => {
      if (instance.id !== id) return;
      seen.push(crash.classification);
      return { ...crash, classification: 'unexpected_exit' } as never;
    });
    try {
      const res = await crash(id, { logTail: TAILS.oom, exitCode: 137, signal: 'SIGKILL' });
      expect(res.body.classification).to.equal('oom');
      expect(classified).to.deep.equal(['oom']);
      expect(seen).to.deep.equal(['oom']);
      expect((await user.http.get(`/api/servers/${id}/crashes`)).body.crashes.map((c: any) => c.classification)).to.deep.equal(['oom']);
      expect((await user.http.get(`/api/servers/${id}/status`)).body.crash).to.include({ classification: 'oom' });
    } finally {
      type.classifyCrash = classify;
    }
  });

  it('tells the owner by email', async () => {
    const owner = await tk.user();
    const id = await server('mail', owner);
    await crash(id, { logTail: TAILS.oom, exitCode: 137, signal: 'SIGKILL' });
    const mail = await smtp.waitFor(owner.email, 'server_crashed');
    expect(mail.subject).to.match(/crashed \(oom\)/);
    expect(mail.text).to.match(/OutOfMemoryError/);
  });

  it('another user cannot read the crash reports', async () => {
    const id = await server('private');
    const stranger = await tk.user();
    expect((await stranger.http.get(`/api/servers/${id}/crashes`)).status).to.equal(404);
  });
});

describe('Crash supervision with a short backoff', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  before(async () => {
    fleet = await startFleet();
    tk = await startTestKernel({ plugins: fleetPlugins, config: fleetConfig(fleet, { supervisor: { backoffBaseSeconds: 0.2 } }) });
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  it('actually restarts the crashed server through the agent', async () => {
    const user = await tk.user();
    const op = await settle(user, (await create(user, 'restart-me')).body.operation.id);
    const server = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
    const token = tk.kernel.resolve(Tokens.AgentTokens).tokenFor(op.instanceId);
    const res = await tk.http.post('/api/agent/events', {
      type: 'crash', instanceId: op.instanceId, at: new Date().toISOString(), exitCode: 1, signal: null, uptimeSeconds: 2, logTail: [],
    }, { token });
    expect(res.status).to.equal(202);
    for (let i = 0; i < 100; i++) {
      if ((await user.http.get(`/api/servers/${op.instanceId}`)).body.server.state === 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await user.http.get(`/api/servers/${op.instanceId}`)).body.server.state).to.equal('running');
    expect(fleet.agents.requests.some((q) => q.vmid === server.vmid && q.method === 'POST' && q.path === '/power')).to.equal(true);
  });
});
