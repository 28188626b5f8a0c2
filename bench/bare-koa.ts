import Koa from 'koa';

/**
 * The baseline: a bare koa app answering `{ ok: true }` to everything, run as its own process
 * like zpack so both get the same treatment. Usage: node bare-koa.js <port>
 */
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node bare-koa.js <port>');
  process.exit(2);
}

const app = new Koa();
app.use(async (ctx) => {
  ctx.body = { ok: true };
});
const server = app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
