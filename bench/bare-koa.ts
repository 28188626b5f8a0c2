import { readFileSync } from 'node:fs';
import Koa from 'koa';

/**
 * The baseline: a bare koa app answering `{ ok: true }` to everything, or the JSON held in
 * <json-file> (read once, serialised per request as zpack does), run as its own process like
 * zpack so both get the same treatment. Usage: node bare-koa.js <port> [json-file]
 */
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node bare-koa.js <port> [json-file]');
  process.exit(2);
}
const answer: unknown = process.argv[3] ? JSON.parse(readFileSync(process.argv[3], 'utf8')) : { ok: true };

const app = new Koa();
app.use(async (ctx) => {
  ctx.body = answer;
});
const server = app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
