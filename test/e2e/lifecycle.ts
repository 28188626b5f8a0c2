import path from 'node:path';
import { DerivedAgentTokens } from '../../kernel/core/agent-tokens';
import { launchChromium, type Browser } from '../browser/chromium';
import { noSecretsInBrowser, operatorConsole, plainUserForbidden, recordResponses } from './lifecycle/admin';
import { EmbeddedDefault } from './lifecycle/deployment';
import { createDev, deleteDev, HOST_RULES, openIdeInBrowser, stopRestartIde, type DevContainer } from './lifecycle/dev';
import { createGame, deleteGame, filesBackupRestore, gameConsole, type GameServer } from './lifecycle/game';
import { Account } from './lifecycle/http';
import { check, part } from './lifecycle/report';
import { agentAuthFailsClosed, nonOwnerBlocked } from './lifecycle/security';
import { World } from './lifecycle/world';

/** ZPACK_SCREENSHOTS=docs/console saves the console pages' screenshots there (relative to the checkout). */
const SHOTS = process.env.ZPACK_SCREENSHOTS && path.resolve(__dirname, '..', '..', '..', process.env.ZPACK_SCREENSHOTS);

/**
 * The system as a newcomer gets it: the embedded default (`node dist/kernel/main.js all`) on a
 * fresh data folder, driven through the HTTP API and a real browser — game lifecycle, dev
 * lifecycle with the hosted IDE, the operator console, and the security checks — with every
 * cleanup asserted in the simulators. Prints ok/FAIL lines; any FAIL makes the run exit non-zero.
 */
export async function lifecycle(): Promise<void> {
  const zpack = new EmbeddedDefault();
  let browser: Browser | undefined;
  const started = Date.now();
  try {
    await zpack.start();
    console.log(`  embedded default up in ${((Date.now() - started) / 1000).toFixed(1)} s on ${zpack.url} (data in ${zpack.home}, Redis prefix ${zpack.prefix})`);
    const world = new World(zpack);
    const owner = await new Account(zpack.url, 'owner@e2e.zpack.test').signIn();
    const stranger = await new Account(zpack.url, 'stranger@e2e.zpack.test').signIn();
    const admin = { email: 'admin@e2e.zpack.test', password: 'a-long-admin-password' };
    const made = await zpack.command('create-admin', '--email', admin.email, '--password', admin.password);
    check(made.code === 0, `create-admin against the running embedded default (exit ${made.code})`, made.output.slice(-500));
    // Missing Chromium is a failure, never a skip.
    browser = await launchChromium(undefined, [HOST_RULES]);

    let game: GameServer | undefined;
    await part('game: create → ready', async () => { game = await createGame(owner, world, 'E2E World'); });
    if (game) {
      const server = game;
      await part('game: console over the API', () => gameConsole(owner, server));
      await part('security', async () => {
        await agentAuthFailsClosed(zpack.url, zpack.secrets.agent, server);
        await nonOwnerBlocked(stranger, server);
      });
      await part('operator console /admin in Chromium', async () => {
        const page = browser!.page;
        const responses = recordResponses(page);
        await operatorConsole(page, zpack, admin, stranger, owner, server, SHOTS);
        await responses.settled();
        await plainUserForbidden(zpack.url, responses.seen, stranger);
        await noSecretsInBrowser(page, responses.seen, zpack, [agentToken(zpack, server.id)]);
      });
      await part('game: files, backup, restore', () => filesBackupRestore(owner, server));
      await part('game: delete and cleanup', () => deleteGame(owner, world, server));
    }

    let dev: DevContainer | undefined;
    await part('dev: create', async () => { dev = await createDev(owner, world); });
    if (dev) {
      const container = dev;
      const page = await browser.context.newPage();
      let origin = '';
      await part('dev: hosted IDE in Chromium', async () => { origin = await openIdeInBrowser(page, owner, container); });
      if (origin) await part('dev: code-server stop and restart', () => stopRestartIde(page, owner, container, origin));
      await part('dev: delete and cleanup', () => deleteDev(page, owner, world, container, origin || `http://dev-${container.vmid}.dev.zpack.local:${zpack.port}`));
    }
  } catch (err) {
    check(false, `lifecycle: ${(err as Error).message}`, zpack.tail(20));
  } finally {
    await browser?.close().catch(() => undefined);
    const code = await zpack.stop();
    check(code === 0, `the embedded default stopped cleanly on SIGTERM (exit ${code})`, code === 0 ? undefined : zpack.tail(20));
    await zpack.destroy();
    console.log(`  lifecycle took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/** The agent token of `instanceId` as the deployment derives it (kernel/core/agent-tokens.ts). */
function agentToken(zpack: EmbeddedDefault, instanceId: string): string {
  return new DerivedAgentTokens(zpack.secrets.agent).tokenFor(instanceId);
}
