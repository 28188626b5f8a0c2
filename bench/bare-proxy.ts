import { Agent, createServer, request } from 'node:http';

/**
 * The ceiling of any HTTP hop on this machine: node:http in, node:http out over a keep-alive
 * pool, the answer piped back untouched — no auth, no checks, no parsing, no logs, no metrics.
 * A benchmark that puts zpack between a client and a server runs this in zpack's place, in its
 * own process like zpack, to show how much of the gap to "direct" a hop costs before zpack does
 * anything. Usage: node bare-proxy.js <port> <upstream base URL>
 */
const port = Number(process.argv[2]);
const upstream = process.argv[3] ? new URL(process.argv[3]) : undefined;
if (!Number.isInteger(port) || port <= 0 || !upstream) {
  console.error('usage: node bare-proxy.js <port> <upstream base URL>');
  process.exit(2);
}
const prefix = upstream.pathname.replace(/\/+$/, '');
const agent = new Agent({ keepAlive: true, maxSockets: 256, noDelay: true });

const server = createServer((req, res) => {
  const out = request({ agent, method: req.method, hostname: upstream.hostname, port: upstream.port, path: prefix + req.url, headers: { host: upstream.host } }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', () => {
    res.writeHead(502).end();
  });
  req.pipe(out);
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
