import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page, Response } from 'playwright-core';
import { call, type Account } from './http';
import { check } from './report';
import { PLAYERS_ONLINE, type GameServer } from './game';
import type { EmbeddedDefault } from './deployment';

/** Every response a page received, with its body, for the secret scan. */
export interface Seen { url: string; status: number; method: string; body: string }

/** Records every response of `page` (streams excepted: they have no end to wait for). */
export function recordResponses(page: Page): { seen: Seen[]; settled: () => Promise<unknown> } {
  const seen: Seen[] = [];
  const pending: Array<Promise<unknown>> = [];
  page.on('response', (res: Response) => {
    if ((res.headers()['content-type'] ?? '').startsWith('text/event-stream')) return;
    pending.push(res.body().then((b) => b.toString('utf8'), () => '').then((body) => {
      seen.push({ url: res.url(), status: res.status(), method: res.request().method(), body });
    }));
  });
  return { seen, settled: () => Promise.all(pending) };
}

/** Saves a screenshot under `dir` (ZPACK_SCREENSHOTS) when asked to. */
export async function shot(page: Page, dir: string | undefined, name: string): Promise<void> {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: false });
}

/**
 * The operator console against the running deployment: a plain user is refused at sign-in; an
 * admin (made with `create-admin`) signs in, finds the server, opens its console, types `list`
 * and sees the answer in the terminal.
 */
export async function operatorConsole(page: Page, zpack: EmbeddedDefault, admin: { email: string; password: string }, plain: Account,
  owner: Account, server: GameServer, shots?: string): Promise<void> {
  await page.goto(`${zpack.url}/admin`);
  await page.getByLabel('Email').fill(plain.email);
  await page.getByLabel('Password').fill(plain.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').getByText('admin role').waitFor();
  check(true, '/admin refuses a plain user at sign-in (admin role required)');
  await shot(page, shots, 'sign-in');

  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  const row = page.locator(`tr[data-server="${server.id}"]`);
  await row.getByText(owner.email).waitFor();
  await row.getByText('running').waitFor();
  check(true, `the admin signs in and finds the server created through the API in the fleet (owner ${owner.email}, running)`);
  await shot(page, shots, 'fleet');

  await page.getByRole('link', { name: server.name }).click();
  await page.getByRole('heading', { name: new RegExp(server.name) }).waitFor();
  await page.getByText(/^mc-\d+\.[a-z0-9.-]+:\d+$/).waitFor();
  check(true, 'the server page shows the address players type (mc-<vmid>.<zone>:<port>)');
  await page.getByRole('button', { name: 'Open console' }).click();
  await page.locator('#console-state').getByText(/open|running/).waitFor();
  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('list');
  await page.keyboard.press('Enter');
  await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('.xterm-rows')?.textContent ?? ''), PLAYERS_ONLINE.source, { timeout: 15_000 });
  check(true, 'the admin opens its console, types `list` and sees the answer in the terminal');
  await shot(page, shots, 'server');

  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('heading', { name: 'Users' }).waitFor();
  await page.getByRole('cell', { name: owner.email, exact: true }).waitFor();
  check(true, 'the users page lists the account that created the server');
  await shot(page, shots, 'users');
  await page.getByRole('link', { name: 'Queues' }).click();
  await page.getByRole('cell', { name: 'provisioning', exact: true }).waitFor();
  check(true, 'the queues page lists the provisioning queue with its staleness');
  await shot(page, shots, 'queues');
}

/** Every admin GET the page made answers 403 to a plain user. */
export async function plainUserForbidden(base: string, seen: Seen[], plain: Account): Promise<void> {
  const adminCalls = [...new Set(seen.filter((r) => r.method === 'GET' && r.status === 200 && new URL(r.url).pathname.startsWith('/api/admin/'))
    .map((r) => { const u = new URL(r.url); return u.pathname + u.search; }))];
  check(adminCalls.length >= 3, `the console page made admin API calls (${adminCalls.length})`);
  const allowed: string[] = [];
  for (const path of adminCalls) {
    const res = await call(base, 'GET', path, { token: plain.token });
    if (res.status !== 403) allowed.push(`${path} → ${res.status}`);
  }
  check(allowed.length === 0, `a plain user gets 403 from every admin API call the page made (${adminCalls.length})`, allowed);
}

/** No agent token, Proxmox token secret, Stripe key or webhook secret in the HTML, scripts or any response. */
export async function noSecretsInBrowser(page: Page, seen: Seen[], zpack: EmbeddedDefault, agentTokens: string[]): Promise<void> {
  const s = zpack.secrets;
  const secrets: Record<string, string> = {
    'agent token secret': s.agent, 'Proxmox token secret': s.proxmoxTokenSecret, 'Stripe secret key': s.stripeKey, 'Stripe webhook secret': s.stripeWebhook,
    'JWT secret': s.jwt, 'Cloudflare token': s.cloudflareToken, 'Velocity bridge token': s.bridgeToken,
    ...Object.fromEntries(agentTokens.map((t, i) => [`agent token ${i + 1}`, t])),
  };
  const patterns = [/sk_(live|test)_[A-Za-z0-9]{8,}/, /rk_(live|test)_[A-Za-z0-9]{8,}/, /whsec_[A-Za-z0-9]{8,}/, /PVEAPIToken=/];
  const bodies = [{ url: 'the page HTML', body: await page.content() }, ...seen];
  const scripts = seen.filter((r) => /\.js(\?|$)/.test(new URL(r.url).pathname)).length;
  const found: string[] = [];
  for (const { url, body } of bodies) {
    for (const [name, value] of Object.entries(secrets)) if (body.includes(value)) found.push(`${name} in ${url}`);
    for (const p of patterns) if (p.test(body)) found.push(`${p} in ${url}`);
  }
  check(scripts > 0 && seen.length > 10, `scanned the HTML, ${scripts} scripts and ${seen.length} responses`);
  check(found.length === 0, 'no agent token, Proxmox token secret, Stripe key or webhook secret reached the browser', found);
}
