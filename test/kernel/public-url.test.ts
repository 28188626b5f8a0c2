import { expect } from 'chai';
import { create, settle, useFleetKernel } from '../provisioning/fixture';

const PORTAL = 'https://portal.zpack.test';
const API = 'http://zpack.internal:3000';

describe('server.publicUrl (the portal) and server.apiUrl (where agents reach the API)', () => {
  const env = useFleetKernel({ server: { publicUrl: PORTAL, apiUrl: API } });

  it('links the password-reset mail to the portal', async () => {
    const user = await env.tk.user();
    expect((await env.tk.http.post('/api/auth/password-reset/request', { email: user.email })).status).to.equal(202);
    const [mail] = await env.tk.kernel.ds.query(`SELECT body FROM notification WHERE recipient = $1 AND template = 'password_reset'`, [user.email]);
    expect(mail.body).to.match(new RegExp(`\\n${PORTAL}/reset-password\\?token=[A-Za-z0-9_-]+\\n`));
  });

  it('gives agents the API’s address for their events, never the portal’s', async () => {
    const user = await env.tk.user();
    const op = await settle(user, (await create(user, 'api-url')).body.operation.id);
    const { vmid } = (await user.http.get(`/api/servers/${op.instanceId}`)).body.server;
    expect(env.fleet.agents.containers().get(vmid)!.provisionedPayload).to.include({ controlPlaneUrl: API });
  });
});
