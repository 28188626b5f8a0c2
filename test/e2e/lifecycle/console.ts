import { WebSocket } from 'ws';
import type { Account } from './http';

/**
 * Opens a server's console as a CLI would (ticket, then the WebSocket with `zpack.console.v1`),
 * types `command` and resolves with the output once it matches `answer`.
 */
export async function consoleRoundTrip(account: Account, serverId: string, command: string, answer: RegExp, timeoutMs = 15_000): Promise<string> {
  const ticket = await account.post(`/api/servers/${serverId}/console/ticket`);
  if (ticket.status !== 200) throw new Error(`console ticket: ${ticket.status} ${ticket.text}`);
  const url = `${account.base.replace(/^http/, 'ws')}/api/servers/${serverId}/console?ticket=${encodeURIComponent(ticket.body.ticket)}`;
  const ws = new WebSocket(url, ['zpack.console.v1']);
  try {
    return await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`no answer matching ${answer} to \`${command}\` within ${timeoutMs} ms; got ${JSON.stringify(output.slice(-300))}`)), timeoutMs);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`console refused: ${res.statusCode}`)));
      ws.once('error', reject);
      ws.once('open', () => {
        if (ws.protocol !== 'zpack.console.v1') reject(new Error(`console chose subprotocol "${ws.protocol}"`));
        ws.send(JSON.stringify({ type: 'input', data: `${command}\r` }));
      });
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString());
        if (frame.type !== 'output') return;
        output += frame.data;
        if (answer.test(output)) {
          clearTimeout(timer);
          resolve(output);
        }
      });
    });
  } finally {
    ws.close();
  }
}
