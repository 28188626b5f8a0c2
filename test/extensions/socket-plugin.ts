import { z } from 'zod';
import { Tokens, ZpackError, definePlugin } from '../../kernel/api';

/** The Host pattern of the test's IDE-like hostnames, its VMID as a named group. */
export const IDE_HOST = /^dev-(?<vmid>\d+)\.ide\.test$/;

/**
 * A plugin reaching the kernel only through kernel/api: a WebSocket by path and one by Host,
 * both behind single-use tickets, and plain HTTP for the same hostnames.
 */
export default definePlugin({
  name: 'socket-test',
  version: '1.0.0', kernelApi: '2',
  config: z.object({}),
  register(ctx) {
    ctx.routes((r) => r.route({
      method: 'post', path: '/api/socket-test/ticket', summary: 'A ticket for one of this plugin’s sockets', auth: 'user',
      operationId: 'createSocketTestTicket', responses: { 200: z.object({ ticket: z.string() }) },
      body: z.object({ purpose: z.enum(['echo', 'ide']) }),
      handler: async ({ body, account, sessionId }) => {
        const tickets = ctx.resolve(Tokens.UpgradeTickets);
        return { body: { ticket: await tickets.issue({ purpose: body.purpose, accountId: account.id, sessionId, role: account.role }) } };
      },
    }));

    ctx.upgrade({ path: '/api/socket-test/echo/:word' }, async (upgrade) => {
      upgrade.checkOrigin();
      const grant = await upgrade.redeemTicket('echo');
      const account = await upgrade.confirmSession(grant);
      const ws = await upgrade.accept();
      // Answers only when asked: a message sent right after the 101 could land before the client listens.
      ws.on('message', (data) => ws.send(JSON.stringify({ word: upgrade.params.word, email: account.email, echo: data.toString() })));
    });

    ctx.upgrade({ host: IDE_HOST }, async (upgrade) => {
      upgrade.checkOrigin('an IDE');
      await upgrade.confirmSession(await upgrade.redeemTicket('ide'));
      const ws = await upgrade.accept();
      ws.on('message', () => ws.send(JSON.stringify({ vmid: upgrade.params.vmid, path: upgrade.url.pathname })));
    });

    ctx.hostRoutes(IDE_HOST, async ({ koa, params, requestId }) => {
      if (koa.path === '/forbidden') throw new ZpackError('forbidden', 403, 'Not this one');
      koa.body = { ide: params.vmid, method: koa.method, path: koa.path, requestId };
    });
  },
});
