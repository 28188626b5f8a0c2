import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { Redis } from 'ioredis';
import agentPlugin from '../../plugins/agent';
import cloudflarePlugin from '../../plugins/cloudflare';
import minecraftPlugin from '../../plugins/minecraft';
import proxmoxPlugin from '../../plugins/proxmox';
import velocityPlugin from '../../plugins/velocity';
import discordPlugin from '../../plugins/discord';
import headscalePlugin from '../../plugins/headscale';
import modrinthPlugin from '../../plugins/modrinth';
import stripePlugin from '../../plugins/stripe';
import { DiscordConnection } from '../../plugins/discord/connection';
import { HeadscaleConnection } from '../../plugins/headscale/connection';
import { ModrinthConnection } from '../../plugins/modrinth/connection';
import { StripeConnection } from '../../plugins/stripe/connection';
import { SIMULATOR_TOKEN } from '../../plugins/proxmox/testing/simulator';
import { dropSchema } from '../../kernel/core/database';
import { importCommand } from '../../kernel/core/fleet-import/command';
import { InstanceAgent } from '../../kernel/api';
import { distRoot, projectRoot, startTestKernel, testConfig, until, type TestKernel } from '../harness';
import { create, settle } from '../provisioning/fixture';

const simulated = {
  proxmox: { enabled: true, options: { simulate: true, simulator: { taskMs: 5 } } },
  agent: { enabled: true, options: { simulate: true, simulator: { bootMs: 20 } } },
  cloudflare: { enabled: true, options: { simulate: true } },
  velocity: { enabled: true, options: { simulate: true } },
  minecraft: { enabled: true, options: {} },
  modrinth: { enabled: true, options: { simulate: true } },
  discord: { enabled: true, options: { simulate: true } },
  headscale: { enabled: true, options: { simulate: true } },
  stripe: { enabled: true, options: { simulate: true, plans: { vanilla: { priceId: 'price_vanilla', maxInstances: 5, memoryMbMax: 4096, flavors: [], mods: true } } } },
};
const PLUGINS = [proxmoxPlugin, agentPlugin, cloudflarePlugin, velocityPlugin, minecraftPlugin, modrinthPlugin, discordPlugin, headscalePlugin, stripePlugin];

describe('zpack simulators: one simulated world for a fleet of processes', () => {
  const prefix = `zt-sims-${randomBytes(4).toString('hex')}`;
  const hostConfig = testConfig({ plugins: simulated, logging: { level: 'warn' } }, undefined, prefix);
  let host: ChildProcess;
  let output = '';
  const kernels: TestKernel[] = [];
  const redis = new Redis(hostConfig.redis.url, { lazyConnect: true });

  before(async function () {
    this.timeout(60_000);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'zpack-sims-')), 'zpack.yaml');
    writeFileSync(file, stringify(hostConfig));
    const env: NodeJS.ProcessEnv = { ...process.env, ZPACK_CONFIG: file };
    for (const k of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE']) delete env[k];
    host = spawn(process.execPath, [path.join(distRoot, 'kernel', 'main.js'), 'simulators'], { env, cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    host.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
    host.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
    await redis.connect();
    await until('the simulators process to announce itself', () => redis.hget(`${prefix}:simulators`, '.ready'), (v) => !!v, 40_000, 100)
      .catch((err) => { throw new Error(`${err.message}\n${output}`); });
  });
  after(async () => {
    for (const k of kernels) await k.stop();
    host?.kill('SIGTERM');
    await new Promise((r) => (host?.exitCode !== null ? r(null) : host.once('exit', r)));
    redis.disconnect();
    await dropSchema(hostConfig.database.url, hostConfig.database.schema);
  });

  const remoteKernel = async (role: string) => {
    const tk = await startTestKernel({
      plugins: PLUGINS,
      prefix,
      config: { role, plugins: simulated, simulators: { mode: 'remote' }, provisioning: { readyPollMs: 25 } },
    });
    kernels.push(tk);
    return tk;
  };

  it('publishes every simulator it runs in Redis under the prefix', async () => {
    const all = await redis.hgetall(`${prefix}:simulators`);
    expect(Object.keys(all).sort()).to.deep.equal(['.ready', 'agent', 'cloudflare', 'discord', 'discord.ops', 'discord.support', 'headscale', 'modrinth', 'proxmox', 'stripe', 'velocity']);
  });

  it('gives a kernel in remote mode the catalog, Discord, Headscale and Stripe of the simulators process, starting none of its own', async () => {
    const tk = await remoteKernel('all');
    // Stopped at the end: two kernels on one prefix would take each other's jobs.
    try {
      await remoteWorld(tk);
    } finally {
      kernels.splice(kernels.indexOf(tk), 1);
      await tk.stop();
    }
  });

  const remoteWorld = async (tk: TestKernel) => {
    const published = await redis.hgetall(`${prefix}:simulators`);
    const { kernel } = tk;
    const conn = <T>(token: new (...args: never[]) => T): T => kernel.resolve(token as never) as T;
    expect(conn(ModrinthConnection).simulator).to.equal(undefined);
    expect(conn(DiscordConnection).simulator).to.equal(undefined);
    expect(conn(HeadscaleConnection).simulator).to.equal(undefined);
    expect(conn(StripeConnection).simulator).to.equal(undefined);
    expect(conn(DiscordConnection).webhooks()).to.deep.equal({ ops: published['discord.ops'], support: published['discord.support'] });
    expect(conn(HeadscaleConnection).loginServer).to.equal(published.headscale);
    // The catalog search is answered by the simulators process's Modrinth.
    const user = await tk.user();
    const search = await user.http.get('/api/mods/search?limit=3');
    expect(search.status, JSON.stringify(search.body)).to.equal(200);
    expect(search.body.projects).to.have.length(3);
    // Stripe's simulator there posts its events to this kernel's API, which told it where it listens.
    await until('the API to tell the simulators process where it listens', () => redis.get(`${prefix}:simulators:api`), (v) => v === `http://127.0.0.1:${kernel.port}`, 5000, 50);
  };

  it('serves a kernel in simulators.mode remote: its containers live in the simulators process, not in its own', async () => {
    const tk = await remoteKernel('all');
    const user = await tk.user();
    const op = await settle(user, (await create(user, 'remote-world')).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    const [{ vmid }] = await tk.kernel.ds.query(`SELECT vmid FROM instance WHERE id = $1`, [op.instanceId]);
    const proxmox = await redis.hget(`${prefix}:simulators`, 'proxmox');
    const res = await fetch(`${proxmox}/cluster/resources?type=vm`, { headers: { authorization: `PVEAPIToken=${SIMULATOR_TOKEN.id}=${SIMULATOR_TOKEN.secret}` } });
    const listed = (await res.json() as { data: Array<{ vmid: number }> }).data.map((r) => r.vmid);
    expect(listed).to.include(vmid);
    const status = await user.http.get(`/api/servers/${op.instanceId}/status`);
    expect(status.body.ready).to.equal(true);
  });

  it('seeds a sample fleet into the simulators process from a kernel in remote mode (zpack import --sample)', async function () {
    this.timeout(60_000);
    const tk = await remoteKernel('all');
    const lines: string[] = [];
    expect(await importCommand(tk.kernel, ['--sample', '--accounts', '4', '--servers', '12', '--json'], (l) => lines.push(l))).to.equal(0);
    const report = JSON.parse(lines.join('\n'));
    expect(report.sample.seeded).to.include.keys('proxmox', 'agent', 'cloudflare', 'velocity');
    const vmids = (await tk.kernel.ds.query(`SELECT i.vmid, r.ref FROM instance i JOIN fleet_import_row r ON r.target_id = i.id`)) as Array<{ vmid: number; ref: string }>;
    const proxmox = await redis.hget(`${prefix}:simulators`, 'proxmox');
    const res = await fetch(`${proxmox}/cluster/resources?type=vm`, { headers: { authorization: `PVEAPIToken=${SIMULATOR_TOKEN.id}=${SIMULATOR_TOKEN.secret}` } });
    const listed = new Set((await res.json() as { data: Array<{ vmid: number }> }).data.map((r) => r.vmid));
    const expected = vmids.filter((v) => !report.sample.drift.missingContainer.includes(v.ref)).map((v) => v.vmid);
    expect(expected.filter((v) => !listed.has(v)), 'every sample container but the missing one is in the simulators process').to.deep.equal([]);
    expect(report.adoption.failed.map((f: { ref: string }) => f.ref)).to.deep.equal(report.sample.drift.missingContainer);
    // The simulators process's agents hold our token: the kernel's agent client is answered.
    const healthy = new Set(vmids.filter((v) => !report.sample.drift.legacyAgent.includes(v.ref)).map((v) => v.vmid));
    const running = (await tk.kernel.directory.list({ states: ['running'] })).find((i) => i.address && healthy.has(i.vmid!));
    expect((await tk.kernel.resolve(InstanceAgent).ready(running!)).provisioned).to.equal(true);
  });

  it('refuses to boot in remote mode when no simulators process announced itself, naming why', async () => {
    const err = await startTestKernel({
      plugins: [proxmoxPlugin, agentPlugin, minecraftPlugin],
      config: { plugins: { proxmox: simulated.proxmox, agent: simulated.agent, minecraft: simulated.minecraft }, simulators: { mode: 'remote', waitSeconds: 1 } },
    }).catch((e) => e);
    expect(err.code).to.equal('simulators_unavailable');
  });
});
