import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { ADMIN_CONSOLE_DIR } from '../kernel/core/http/admin-console';
import { startTestKernel } from '../test/harness';
import { CHROMIUM } from '../test/browser/chromium';
import type { Benchmark, BenchmarkReport } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { fixed, ms, step, table } from './lib/print';
import { median } from './lib/stats';

const SERVERS = 2_000;
const OWNERS = 20;
const RUNS = 5;
const TARGET_MS = 1_000;
const TARGET_GZIP_BYTES = 300 * 1024;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/**
 * Marks the first frame painted after the first fleet row exists (the page's first meaningful
 * paint): a frame callback, then a task, so the mark lands after that frame was produced.
 */
const MARK_FIRST_ROW = (selector: string) => `
  new MutationObserver((_, observer) => {
    if (!document.querySelector(${JSON.stringify(selector)})) return;
    observer.disconnect();
    requestAnimationFrame(() => setTimeout(() => { window.__firstRowPaint = performance.now(); }, 0));
  }).observe(document, { subtree: true, childList: true });`;

/** Navigation start → first row painted, in a fresh browser context (empty cache) each time. */
async function timeFirstRow(browser: Browser, url: string, init: string, selector: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.addInitScript(init + MARK_FIRST_ROW(selector));
    await page.goto(url);
    await page.waitForFunction(() => (window as any).__firstRowPaint, undefined, { timeout: 30_000 });
    return await page.evaluate(() => (window as any).__firstRowPaint as number);
  } finally {
    await context.close();
  }
}

/** The JavaScript the build ships, raw and gzipped: all of it, and what the fleet page loads (without the lazy terminal). */
function shippedJs(): { files: Array<{ name: string; raw: number; gzip: number }>; total: number; initial: number } {
  const dir = path.join(ADMIN_CONSOLE_DIR, 'assets');
  const files = readdirSync(dir).filter((f) => f.endsWith('.js')).map((name) => {
    const bytes = readFileSync(path.join(dir, name));
    return { name, raw: bytes.length, gzip: gzipSync(bytes).length };
  });
  const entry = /src="\/admin\/assets\/([^"]+\.js)"/.exec(readFileSync(path.join(ADMIN_CONSOLE_DIR, 'index.html'), 'utf8'))?.[1];
  return { files, total: files.reduce((s, f) => s + f.gzip, 0), initial: files.find((f) => f.name === entry)?.gzip ?? NaN };
}

async function run(): Promise<BenchmarkReport> {
  const js = shippedJs();
  table(['file', 'raw', 'gzip'], js.files.map((f) => [f.name, `${fixed(f.raw / 1024, 1)} KB`, `${fixed(f.gzip / 1024, 1)} KB`]));

  const tk = await startTestKernel();
  let browser: Browser | undefined;
  try {
    const admin = await tk.user({ role: 'admin' });
    const owners = await Promise.all(Array.from({ length: OWNERS }, () => tk.user()));
    step(`inserting ${SERVERS} servers for ${OWNERS} owners`);
    await tk.kernel.ds.query(
      `INSERT INTO instance (owner_id, kind, type, name, state, vmid, node, created_at, updated_at)
       SELECT ($1::uuid[])[1 + i % ${OWNERS}], 'game', 'minecraft', 'world-' || i,
              (ARRAY['running','running','running','stopped','crashed'])[1 + i % 5], 10000 + i, 'pve' || (1 + i % 4),
              now() - (${SERVERS} - i) * interval '1 second', now() - (${SERVERS} - i) * interval '1 second'
         FROM generate_series(1, ${SERVERS}) AS i`, [owners.map((o) => o.id)]);
    const session = `sessionStorage.setItem('zpack.admin.session', ${JSON.stringify(JSON.stringify({ accessToken: admin.accessToken, refreshToken: admin.refreshToken, email: admin.email }))});`;

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    // Baseline: the same browser painting a static 50-row table (no script, no API): the floor for a page of this size.
    const rows = Array.from({ length: 50 }, (_, i) => `<tr><td>world-${i}</td><td>owner@example.test</td><td>game/minecraft</td><td>running</td><td>pve1</td></tr>`).join('');
    const baselineUrl = `data:text/html,${encodeURIComponent(`<!doctype html><title>b</title><table id="fleet"><tbody>${rows}</tbody></table>`)}`;
    const fleetUrl = `${tk.url}/admin/`;
    await timeFirstRow(browser, fleetUrl, session, '#fleet tbody tr');
    const baseline: number[] = [];
    const fleet: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      baseline.push(await timeFirstRow(browser, baselineUrl, '', '#fleet tbody tr'));
      fleet.push(await timeFirstRow(browser, fleetUrl, session, '#fleet tbody tr'));
    }
    const fmp = median(fleet);
    const floor = median(baseline);
    table(['page', 'runs (ms)', 'median'], [
      ['static 50-row table (baseline)', baseline.map((v) => fixed(v)).join(' '), ms(floor)],
      [`fleet page, ${SERVERS} servers (50 per page)`, fleet.map((v) => fixed(v)).join(' '), ms(fmp)],
    ]);
    const targets = [
      { name: `first meaningful paint: ${TARGET_MS} ms / measured`, ratio: TARGET_MS / fmp, minimum: 1, invalid: '' },
      { name: 'shipped JS gzipped: 300 KB / measured (all chunks)', ratio: TARGET_GZIP_BYTES / js.total, minimum: 1, invalid: '' },
    ];
    for (const t of targets) step(`${t.name}: ${fixed(t.ratio, 2)} → ${verdict(t)}`);
    return {
      targets,
      figures: [
        { label: 'fleet page first meaningful paint (median)', value: ms(fmp) },
        { label: 'static table baseline (median)', value: ms(floor) },
        { label: 'over the baseline', value: `${fixed(fmp / floor, 1)} x` },
        { label: 'JS gzipped, all chunks', value: `${fixed(js.total / 1024, 1)} KB` },
        { label: 'JS gzipped, fleet page (terminal lazy)', value: `${fixed(js.initial / 1024, 1)} KB` },
      ],
    };
  } finally {
    await browser?.close();
    await tk.stop();
  }
}

export const consolePage: Benchmark = {
  name: 'console-page',
  summary: `first meaningful paint of /admin's fleet page with ${SERVERS} servers in headless Chromium (target < ${TARGET_MS} ms, fresh context per run, median of ${RUNS}) `
    + 'against a static table; the shipped JavaScript gzipped (target < 300 KB)',
  run,
};
