import { expect } from 'chai';
import sinon from 'sinon';
import type { TestUser } from '../harness';
import { create, settle, useFleetKernel } from '../provisioning/fixture';

describe('A server whose agent no longer knows its container (not_provisioned)', () => {
  const env = useFleetKernel();
  let user: TestUser;
  let id: string;
  let errors: sinon.SinonSpy;

  before(async () => {
    user = await env.tk.user();
    id = (await settle(user, (await create(user, 'forgotten')).body.operation.id)).instanceId;
    const { vmid } = (await user.http.get(`/api/servers/${id}`)).body.server;
    // As after a restart of the embedded default: the in-process agent simulator forgets the container.
    const forgot = await fetch(`${env.fleet.agents.url}/__sim/ct/${vmid}`, { method: 'DELETE' });
    expect(forgot.status).to.equal(204);
  });
  beforeEach(() => {
    errors = sinon.spy(env.tk.kernel.logger, 'error');
  });
  afterEach(() => errors.restore());

  it('answers power with 409 not_provisioned, logs no error and leaves the server\'s state alone', async () => {
    const res = await user.http.post(`/api/servers/${id}/power`, { action: 'restart' });
    expect(res.status).to.equal(409);
    expect(res.body.error.code).to.equal('not_provisioned');
    expect(res.body.error.details).to.deep.equal({ agent: { status: 409, code: 'not_provisioned' } });
    expect(errors.callCount).to.equal(0);
    expect((await user.http.get(`/api/servers/${id}`)).body.server.state).to.equal('running');
  });

  it('answers the file and backup routes with 409 not_provisioned and logs no error', async () => {
    const answers = [
      await user.http.get(`/api/servers/${id}/files?path=/`),
      await user.http.get(`/api/game/servers/${id}/files/content?path=server.properties`),
      await user.http.get(`/api/servers/${id}/backups`),
    ];
    expect(answers.map((r) => `${r.status} ${r.body.error?.code}`)).to.deep.equal(Array(3).fill('409 not_provisioned'));
    expect(errors.callCount).to.equal(0);
  });
});
