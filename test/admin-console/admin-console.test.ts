import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page, Response } from 'playwright-core';
import { Tokens } from '../../kernel/api';
import { SIMULATOR_TOKEN } from '../../plugins/proxmox/testing/simulator';
import { projectRoot, type TestKernel, type TestUser } from '../harness';
import { create, gameBody, settle, startFleet, startFleetKernel, type Fleet } from '../provisioning/fixture';
import { axeViolations, launchChromium, type Browser } from '../browser/chromium';

/** Set to a folder (docs/console) to save a screenshot of each main page. */
const SHOTS = process.env.ZPACK_SCREENSHOTS;

describe('Operator console at /admin (headless Chromium)', function () {
  this.timeout(120_000);
  let fleet: Fleet;
  let tk: TestKernel;
  let admin: TestUser;
  let owner: TestUser;
  let plain: TestUser;
  let browser: Browser;
  let page: Page;
  let serverId: string;
  /** Every response the page received, with its body (text), for the secret scan. */
  const seen: Array<{ url: string; status: number; method: string; body: string }> = [];
  const pending: Array<Promise<unknown>> = [];

  before(async () => {
    fleet = await startFleet();
    tk = await startFleetKernel(fleet);
    admin = await tk.user({ role: 'admin' });
    owner = await tk.user();
    plain = await tk.user();
    const op = await settle(owner, (await create(owner, 'admin-console', gameBody('Browser Test World'))).body.operation.id);
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    serverId = op.instanceId;
    browser = await launchChromium();
    page = browser.page;
    page.on('response', (res: Response) => {
      // A stream (the live fleet events) has no end to wait for; its frames carry ids and states only.
      if ((res.headers()['content-type'] ?? '').startsWith('text/event-stream')) return;
      pending.push(res.body().then((b) => b.toString('utf8'), () => '').then((body) => {
        seen.push({ url: res.url(), status: res.status(), method: res.request().method(), body });
      }));
    });
  });
  after(async () => {
    await browser?.close();
    await tk?.stop();
    await fleet?.stop();
  });

  const shot = async (name: string) => {
    if (!SHOTS) return;
    mkdirSync(path.resolve(projectRoot, SHOTS), { recursive: true });
    await page.screenshot({ path: path.resolve(projectRoot, SHOTS, `${name}.png`), fullPage: false });
  };
  const expectAccessible = async (where: string) => {
    const serious = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious, `${where}: ${JSON.stringify(serious, null, 1)}`).to.deep.equal([]);
  };
  const terminalText = () => page.locator('.xterm-rows').innerText();

  it('refuses a plain user at sign-in and answers the page to an operator', async () => {
    await page.goto(`${tk.url}/admin`);
    await page.getByLabel('Email').fill(plain.email);
    await page.getByLabel('Password').fill(plain.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('admin role').waitFor();
    await expectAccessible('sign-in');
    await shot('sign-in');

    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  });

  it('lists the fleet with owner, state, node and readiness, and filters by state', async () => {
    const row = page.locator(`tr[data-server="${serverId}"]`);
    await row.waitFor();
    await row.getByText(owner.email).waitFor();
    await row.getByText('running').waitFor();
    await row.locator('td').nth(5).getByText('yes').waitFor();
    await expectAccessible('fleet');
    await shot('fleet');
    await page.getByLabel('State').selectOption('stopped');
    await page.locator(`tr[data-server="${serverId}"]`).waitFor({ state: 'detached' });
    await page.getByLabel('State').selectOption('');
    await row.waitFor();
  });

  it('opens the server, its console, types `list` and sees the answer; a resize reaches the terminal', async () => {
    await page.getByRole('link', { name: 'Browser Test World' }).click();
    await page.getByRole('heading', { name: /Browser Test World/ }).waitFor();
    await page.getByRole('heading', { name: 'Uptime (30 days)' }).waitFor();
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
    await page.getByRole('button', { name: 'Open console' }).click();
    await page.locator('#console-state').getByText(/open|running/).waitFor();
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('list');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /There are \d+ of a max of 20 players online/.test(document.querySelector('.xterm-rows')?.textContent ?? ''));
    expect(sent.some((f) => f.includes('"type":"input"'))).to.equal(true);

    await page.setViewportSize({ width: 900, height: 700 });
    const resize = async () => {
      for (let i = 0; i < 100; i++) {
        const frames = sent.filter((f) => f.includes('"type":"resize"')).map((f) => JSON.parse(f));
        if (frames.length >= 2) return frames.at(-1);
        await page.waitForTimeout(50);
      }
      throw new Error(`no resize frame after the viewport changed: ${sent.join(' ')}`);
    };
    const last = await resize();
    await page.keyboard.type('stty size');
    await page.keyboard.press('Enter');
    await page.waitForFunction((size) => (document.querySelector('.xterm-rows')?.textContent ?? '').includes(size), `${last.rows} ${last.cols}`);
    expect(await terminalText()).to.include(`${last.rows} ${last.cols}`);
    await expectAccessible('server');
    await shot('server');
  });

  it('shows users with quota, role and billing exemption, and saves a change', async () => {
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    const quota = page.getByLabel(`Quota (max servers) of ${plain.email}`);
    await quota.fill('7');
    await page.locator('tr', { has: quota }).getByRole('button', { name: 'Save' }).click();
    await page.getByText('saved').first().waitFor();
    const after = await admin.http.get('/api/admin/users?limit=200');
    expect(after.body.users.find((u: any) => u.id === plain.id).maxInstances).to.equal(7);
    await expectAccessible('users');
    await shot('users');
  });

  it('shows the queues with their staleness', async () => {
    await page.getByRole('link', { name: 'Queues' }).click();
    await page.getByRole('heading', { name: 'Queues' }).waitFor();
    await page.getByRole('columnheader', { name: 'staleness' }).waitFor();
    await expectAccessible('queues');
    await shot('queues');
  });

  it('updates the fleet live, without a reload, when a server changes', async () => {
    await page.getByRole('link', { name: 'Fleet' }).click();
    const row = page.locator(`tr[data-server="${serverId}"]`);
    await row.getByText('running').waitFor();
    const res = await owner.http.post(`/api/servers/${serverId}/power`, { action: 'stop' });
    expect(res.status).to.equal(202);
    await row.getByText('stopped').waitFor({ timeout: 15_000 });
  });

  it('gives a plain user 403 from every admin API call the page made', async () => {
    await Promise.all(pending);
    const adminCalls = [...new Set(seen.filter((r) => r.method === 'GET' && r.status === 200 && new URL(r.url).pathname.startsWith('/api/admin/'))
      .map((r) => { const u = new URL(r.url); return u.pathname + u.search; }))];
    expect(adminCalls.map((u) => u.split('?')[0])).to.include.members(['/api/admin/servers', '/api/admin/users', '/api/admin/queues', '/api/admin/operations']);
    for (const call of adminCalls) {
      if (call.startsWith('/api/admin/events')) {
        const res = await fetch(`${tk.url}${call}`, { headers: { authorization: `Bearer ${plain.accessToken}` } });
        expect(res.status, call).to.equal(403);
        continue;
      }
      const res = await plain.http.get(call);
      expect(res.status, call).to.equal(403);
      expect(res.body.error.code).to.equal('forbidden');
    }
    expect((await plain.http.get(`/api/servers/${serverId}/status`)).status, 'another’s server stays hidden').to.equal(404);
  });

  it('sends no agent token, Proxmox token secret, Stripe key or webhook secret to the browser', async () => {
    await Promise.all(pending);
    const secrets = [
      tk.kernel.resolve(Tokens.AgentTokens).tokenFor(serverId),
      SIMULATOR_TOKEN.secret,
      tk.config.auth.jwtSecret,
      tk.config.auth.agentTokenSecret,
    ].filter((s): s is string => typeof s === 'string' && s.length >= 8);
    const patterns = [/sk_(live|test)_[A-Za-z0-9]{8,}/, /rk_(live|test)_[A-Za-z0-9]{8,}/, /whsec_[A-Za-z0-9]{8,}/, /PVEAPIToken=/];
    const html = await page.content();
    const scripts = seen.filter((r) => /\.js(\?|$)/.test(new URL(r.url).pathname));
    expect(scripts.length, 'the page’s scripts were seen').to.be.greaterThan(0);
    for (const { url, body } of [{ url: 'page HTML', body: html }, ...seen]) {
      for (const secret of secrets) expect(body.includes(secret), `${url} holds a secret`).to.equal(false);
      for (const p of patterns) expect(p.test(body), `${url} matches ${p}`).to.equal(false);
    }
    expect(seen.length).to.be.greaterThan(20);
  });
});
