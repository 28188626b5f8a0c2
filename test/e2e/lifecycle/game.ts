import type { Account } from './http';
import { until } from './http';
import { consoleRoundTrip } from './console';
import { check } from './report';
import type { World } from './world';

export interface GameServer {
  id: string;
  vmid: number;
  name: string;
}

export const PLAYERS_ONLINE = /There are \d+ of a max of \d+ players online/;
const ZONE = 'play.zpack.local';

/** POST /api/instances with an Idempotency-Key (twice: one operation), until the server is ready and running. */
export async function createGame(owner: Account, world: World, name: string): Promise<GameServer> {
  const body = { kind: 'game', type: 'minecraft', name, options: { version: '1.21.4', flavor: 'paper', memoryMb: 2048 } };
  const key = `e2e-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  const first = await owner.post('/api/instances', body, { headers: { 'idempotency-key': key } });
  check(first.status === 202 && first.headers.get('location') === `/api/operations/${first.body?.operation?.id}`, 'create a minecraft server: 202 {operation} with its Location', first.text);
  const again = await owner.post('/api/instances', body, { headers: { 'idempotency-key': key } });
  check(again.body?.operation?.id === first.body.operation.id, 'the same Idempotency-Key again answers the same operation');
  const op = await owner.settle(first.body.operation.id);
  if (!check(op.state === 'succeeded', `the create operation succeeded (${op.state})`, op.error)) throw new Error('no server to go on with');
  const status = await until('the server to be ready', async () => {
    const s = (await owner.get(`/api/servers/${op.instanceId}/status`)).body;
    return s?.ready && s.state === 'running' ? s : undefined;
  }, 30_000);
  check(status.agentReady === true && status.proxy?.state !== undefined, `the server is running and ready (agentReady, proxy ${status.proxy?.state}, edge published ${status.edge?.published})`);
  const server = (await owner.get(`/api/servers/${op.instanceId}`)).body;
  const vmid = Number(server.server?.vmid);
  if (!check(Number.isInteger(vmid) && vmid > 0, `the server has its VMID (${vmid})`, server)) throw new Error('no VMID');
  // What the delete must take away: each one is there first.
  check((await world.containers()).includes(vmid), `the Proxmox simulator holds container ${vmid}`);
  check((await world.srvRecords()).includes(srvName(vmid)), `the Cloudflare simulator holds ${srvName(vmid)}`);
  const backend = (await world.proxyBackends()).find((b) => b.name === `zp-${vmid}`);
  check(!!backend && backend.forcedHosts.includes(`mc-${vmid}.${ZONE}`), `the Velocity simulator has zp-${vmid} registered for mc-${vmid}.${ZONE}`, backend);
  return { id: op.instanceId, vmid, name };
}

const srvName = (vmid: number) => `_minecraft._tcp.mc-${vmid}.${ZONE}`;

/** Console over the API: ticket, WebSocket (zpack.console.v1), `list`, and the answer. */
export async function gameConsole(owner: Account, server: GameServer): Promise<void> {
  const output = await consoleRoundTrip(owner, server.id, 'list', PLAYERS_ONLINE);
  check(PLAYERS_ONLINE.test(output), 'console (ticket + WebSocket zpack.console.v1): `list` is answered with the players online');
}

/** Files: write, read back; backup; change; restore; the file is as it was backed up. */
export async function filesBackupRestore(owner: Account, server: GameServer): Promise<void> {
  const file = `/api/servers/${server.id}/files/content?path=${encodeURIComponent('e2e/notes.txt')}`;
  const original = `written by the end-to-end suite at ${new Date().toISOString()}\n`;
  const written = await owner.put(file, { raw: original });
  check(written.status === 200, `files: PUT writes e2e/notes.txt (${written.status})`, written.text);
  const read = await owner.get(file);
  check(read.status === 200 && read.body?.content === original, 'files: GET reads back what was written', read.text);

  const backups = `/api/servers/${server.id}/backups`;
  const started = await owner.post(backups, { name: 'e2e' });
  if (!check(started.status === 202, `backup: 202 {backup} (${started.status})`, started.text)) return;
  const backup = await until('the backup to be ready', async () => {
    const b = (await owner.get(backups)).body?.backups?.find((x: any) => x.id === started.body.backup.id);
    return b && b.state !== 'creating' && b.state !== 'pending' && b.state !== 'running' ? b : undefined;
  }, 30_000);
  check(backup.state === 'ready' && backup.sizeBytes > 0, `backup: ready, ${backup.sizeBytes} bytes`, backup);

  await owner.put(file, { raw: 'changed after the backup\n' });
  check((await owner.get(file)).body?.content === 'changed after the backup\n', 'files: the file changed after the backup');
  const restore = await owner.post(`${backups}/${backup.id}/restore`);
  if (!check(restore.status === 202, `restore: 202 {restore} (${restore.status})`, restore.text)) return;
  const done = await until('the restore to finish', async () => {
    const r = (await owner.get(`${backups}/restore`)).body?.restore;
    return r && r.state !== 'running' ? r : undefined;
  }, 30_000);
  check(done.state === 'succeeded', `restore: succeeded (${done.state})`, done.error);
  const back = await owner.get(file);
  check(back.body?.content === original, 'restore: the file is as it was when backed up', back.text);
}

/** DELETE → the operation succeeds → container, SRV record and proxy registration are gone from the simulators. */
export async function deleteGame(owner: Account, world: World, server: GameServer): Promise<void> {
  const res = await owner.delete(`/api/servers/${server.id}`);
  if (!check(res.status === 202, `delete: 202 {operation} (${res.status})`, res.text)) return;
  const op = await owner.settle(res.body.operation.id);
  check(op.state === 'succeeded', `delete: the operation succeeded (${op.state})`, op.error);
  check((await owner.get(`/api/servers/${server.id}`)).status === 404, 'delete: the server is gone from the API (404)');
  check(!(await world.containers()).includes(server.vmid), `cleanup: container ${server.vmid} is gone from the Proxmox simulator`);
  check(!(await world.srvRecords()).includes(srvName(server.vmid)), `cleanup: ${srvName(server.vmid)} is gone from the Cloudflare simulator`);
  check(!(await world.proxyBackends()).some((b) => b.name === `zp-${server.vmid}`), `cleanup: zp-${server.vmid} is no longer registered with the Velocity simulator`);
}
