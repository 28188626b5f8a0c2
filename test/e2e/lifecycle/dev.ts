import type { Page } from 'playwright-core';
import type { Account } from './http';
import { until } from './http';
import { check } from './report';
import type { World } from './world';

export interface DevContainer {
  id: string;
  vmid: number;
}

/** Chromium resolves every IDE host to this machine, where the embedded default serves them. */
export const DEV_DOMAIN = 'dev.zpack.local';
export const HOST_RULES = `--host-resolver-rules=MAP *.${DEV_DOMAIN} 127.0.0.1`;

/** POST /api/instances (kind dev, codeserver, node 22, code-server on) until it runs. */
export async function createDev(owner: Account, world: World): Promise<DevContainer> {
  const body = { kind: 'dev', type: 'codeserver', name: 'e2e-workbench', options: { runtime: 'node', version: '22', enableCodeServer: true } };
  const res = await owner.post('/api/instances', body, { headers: { 'idempotency-key': 'e2e-dev' } });
  check(res.status === 202, `create a dev container (codeserver, node 22): 202 (${res.status})`, res.text);
  const op = await owner.settle(res.body.operation.id);
  if (!check(op.state === 'succeeded', `the dev create operation succeeded (${op.state})`, op.error)) throw new Error('no dev container to go on with');
  const status = await until('code-server to run', async () => {
    const s = (await owner.get(`/api/servers/${op.instanceId}/status`)).body;
    return s?.state === 'running' && s.codeserver?.codeServer?.state === 'running' ? s : undefined;
  }, 30_000);
  check(status.codeserver.runtime?.active === '22', `the dev container runs node ${status.codeserver.runtime?.active} with code-server running`, status.codeserver);
  const vmid = Number((await owner.get(`/api/servers/${op.instanceId}`)).body.server?.vmid);
  if (!check(Number.isInteger(vmid) && vmid > 0, `the dev container has its VMID (${vmid})`)) throw new Error('no VMID');
  check((await world.containers()).includes(vmid), `the Proxmox simulator holds dev container ${vmid}`);
  return { id: op.instanceId, vmid };
}

/**
 * The hosted IDE in the browser, through the real flow: POST ide-token → the bootstrap URL on
 * dev-<vmid>.<devDomain> (sets the cookie, redirects) → code-server's page proxied on that host.
 */
export async function openIdeInBrowser(page: Page, owner: Account, dev: DevContainer): Promise<string> {
  const res = await owner.post(`/api/dev/${dev.id}/ide-token`);
  if (!check(res.status === 200, `ide-token: 200 (${res.status})`, res.text)) throw new Error('no IDE token');
  const url = new URL(res.body.url);
  check(url.hostname === `dev-${dev.vmid}.${DEV_DOMAIN}` && url.port === new URL(owner.base).port,
    `the IDE URL names the container's own host on the API port (${url.origin})`);
  const answer = await page.goto(url.href);
  check(new URL(page.url()).pathname === '/' && new URL(page.url()).hostname === url.hostname, `the bootstrap set the cookie and redirected to the IDE (${page.url()}, ${answer?.status()})`);
  const cookies = await page.context().cookies(url.origin);
  check(cookies.some((c) => c.name === 'zpack_ide' && c.httpOnly), 'the browser holds the HttpOnly zpack_ide cookie for that host', cookies.map((c) => c.name));
  await page.getByRole('heading', { name: `code-server in dev container ${dev.vmid}` }).waitFor({ timeout: 10_000 });
  check(true, `the browser shows code-server of dev container ${dev.vmid}, proxied on its hosted name`);
  // code-server's page talks to it over a WebSocket from its own origin, with the cookie.
  const echoed = await page.evaluate(() => new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/stable/ws?reconnection=false`);
    ws.onopen = () => ws.send('ping through the IDE proxy');
    ws.onmessage = (m) => { resolve(String(m.data)); ws.close(); };
    ws.onerror = () => reject(new Error('the IDE WebSocket failed'));
    setTimeout(() => reject(new Error('no echo within 5 s')), 5000);
  }));
  check(echoed === 'ping through the IDE proxy', 'the page’s WebSocket reaches code-server through the proxy and back', echoed);
  return url.origin;
}

/** code-server stop (the IDE answers 502), start and restart (it serves again), all in the browser. */
export async function stopRestartIde(page: Page, owner: Account, dev: DevContainer, origin: string): Promise<void> {
  const stop = await owner.post(`/api/dev/${dev.id}/codeserver/stop`);
  check(stop.status === 200 && stop.body.codeServer?.state === 'stopped', `codeserver stop: stopped (${stop.status})`, stop.text);
  const down = await page.goto(`${origin}/`);
  check(down?.status() === 502, `the IDE answers 502 while code-server is stopped (${down?.status()})`);
  const restart = await owner.post(`/api/dev/${dev.id}/codeserver/restart`);
  check(restart.status === 200 && restart.body.codeServer?.state === 'running', `codeserver restart: running (${restart.status})`, restart.text);
  const up = await page.goto(`${origin}/`);
  check(up?.status() === 200 && (await up.text()).includes(`dev container ${dev.vmid}`), `the IDE serves again after the restart (${up?.status()})`);
}

/** DELETE → the operation succeeds → the container is gone from Proxmox and its IDE host serves nothing. */
export async function deleteDev(page: Page, owner: Account, world: World, dev: DevContainer, origin: string): Promise<void> {
  const res = await owner.delete(`/api/servers/${dev.id}`);
  if (!check(res.status === 202, `delete the dev container: 202 (${res.status})`, res.text)) return;
  const op = await owner.settle(res.body.operation.id);
  check(op.state === 'succeeded', `delete: the operation succeeded (${op.state})`, op.error);
  check(!(await world.containers()).includes(dev.vmid), `cleanup: dev container ${dev.vmid} is gone from the Proxmox simulator`);
  const gone = await page.goto(`${origin}/`);
  check(gone !== null && gone.status() >= 400 && gone.status() < 500, `cleanup: its IDE host no longer serves code-server (${gone?.status()})`);
  const token = await owner.post(`/api/dev/${dev.id}/ide-token`);
  check(token.status === 404, `cleanup: no IDE token for a deleted container (${token.status})`);
}
