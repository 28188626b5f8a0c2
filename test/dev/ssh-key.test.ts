import { expect } from 'chai';
import headscalePlugin from '../../plugins/headscale';
import { HeadscaleConnection } from '../../plugins/headscale/connection';
import codeserverPlugin from '../../plugins/codeserver';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, gameBody, settle, startFleet, type Fleet } from '../provisioning/fixture';
import { codeserverOptions, createDev, type DevContainer } from './fixture';

describe('POST /api/dev/:id/ssh-key (the headscale plugin, against its Headscale simulator)', () => {
  let fleet: Fleet;
  let tk: TestKernel;
  let owner: TestUser;
  let dev: DevContainer;

  before(async function () {
    this.timeout(60_000);
    fleet = await startFleet();
    tk = await startTestKernel({
      plugins: [...fleetPlugins, codeserverPlugin, headscalePlugin],
      config: fleetConfig(fleet, {
        plugins: {
          codeserver: { enabled: true, options: codeserverOptions(fleet) },
          headscale: { enabled: true, options: { simulate: true, tailnetDomain: 'tail.zpack.test', keyTtlSeconds: 600 } },
        },
      }),
    });
    owner = await tk.user({ email: 'ssh-owner@zpack.test' });
    dev = await createDev(owner, 'ssh-dev');
  });
  after(async () => {
    await tk?.stop();
    await fleet?.stop();
  });

  const headscale = () => tk.kernel.resolve(HeadscaleConnection).simulator!;

  it('answers a single-use, expiring pre-auth key tagged for that container, and the SSH config snippet', async () => {
    const res = await owner.http.post(`/api/dev/${dev.id}/ssh-key`);
    expect(res.status).to.equal(201);
    expect(res.body.preAuthKey).to.include({ reusable: false });
    expect(res.body.preAuthKey.tags).to.deep.equal([`tag:dev-${dev.vmid}`]);
    const ttl = new Date(res.body.preAuthKey.expiresAt).getTime() - Date.now();
    expect(ttl).to.be.within(590_000, 600_000);
    expect(res.body.sshConfig).to.equal(`Host dev-${dev.vmid}\n  HostName dev-${dev.vmid}.tail.zpack.test\n  User dev\n`);
    expect(res.body.loginServer).to.equal(headscale().url);
    const stored = headscale().keys.find((k) => k.key === res.body.preAuthKey.key)!;
    expect(stored).to.include({ user: 'zpack', reusable: false, ephemeral: false });
    expect(headscale().use(stored.key)).to.equal(true);
    expect(headscale().use(stored.key)).to.equal(false);
  });

  it('answers 404 to a stranger and for a game server, creating no key', async () => {
    const before = headscale().keys.length;
    const stranger = await tk.user({ email: 'ssh-stranger@zpack.test' });
    expect((await stranger.http.post(`/api/dev/${dev.id}/ssh-key`)).status).to.equal(404);
    const game = await create(owner, 'ssh-game', gameBody());
    const op = await settle(owner, game.body.operation.id);
    expect((await owner.http.post(`/api/dev/${op.instanceId}/ssh-key`)).status).to.equal(404);
    expect(headscale().keys.length).to.equal(before);
  });

  it('removes the container\'s tailnet nodes and expires its unused keys when it is deleted: a VMID given to the next customer opens to no one', async () => {
    const doomed = await createDev(owner, 'ssh-doomed');
    const tag = `tag:dev-${doomed.vmid}`;
    const joined = (await owner.http.post(`/api/dev/${doomed.id}/ssh-key`)).body.preAuthKey.key as string;
    const unused = (await owner.http.post(`/api/dev/${doomed.id}/ssh-key`)).body.preAuthKey.key as string;
    expect(headscale().use(joined)).to.equal(true);
    const others = headscale().nodes.filter((n) => !n.forcedTags.includes(tag)).length;
    expect(headscale().nodes.filter((n) => n.forcedTags.includes(tag))).to.have.length(1);
    const del = await owner.http.delete(`/api/servers/${doomed.id}`);
    expect(del.status, del.text).to.equal(202);
    expect((await settle(owner, del.body.operation.id)).state).to.equal('succeeded');
    expect(headscale().nodes.filter((n) => n.forcedTags.includes(tag))).to.deep.equal([]);
    expect(headscale().nodes.length, 'nodes of other containers stay').to.equal(others);
    expect(headscale().use(unused), 'the unused key no longer joins').to.equal(false);
  });

  it('answers 502 naming Headscale when it fails', async () => {
    headscale().faults.failNext(1, 500);
    const res = await owner.http.post(`/api/dev/${dev.id}/ssh-key`);
    expect(res.status).to.equal(502);
    expect(res.body.error).to.include({ code: 'provider_error' });
    expect(res.body.error.message).to.include('headscale');
  });
});
