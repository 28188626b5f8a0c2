import { z } from 'zod';
import type { ApiRouter } from '../../api';
import { CONSOLE_TICKET } from '../console/gateway';
import type { KernelUpgradeTickets } from '../upgrades/tickets';

/** How the console WebSocket the ticket opens speaks: the OpenAPI description of the console route. */
export const CONSOLE_PROTOCOL_DESCRIPTION = [
  'Open `GET /api/servers/{id}/console?ticket=…` as a WebSocket within `expiresIn` seconds, from an Origin in',
  '`console.allowedOrigins`. The ticket is single use and bound to this server and to the login session (or the API key with the `console` scope) that asked.',
  '',
  '**Protocol.** Offer the subprotocol `zpack.console.v1` (`Sec-WebSocket-Protocol`); the server selects it and',
  'every frame is one JSON object. Without it (or offering only other subprotocols) the console is raw text: each',
  'message is typed as a command, and each output line arrives as one message without its line ending.',
  '',
  '- client → server: `{type:"input",data}` (keystrokes; Enter is `\\r`), `{type:"resize",cols,rows}`,',
  '  `{type:"signal",name}` with `SIGINT`, `SIGTERM` or `SIGKILL`.',
  '- server → client: `{type:"output",data}` (PTY output as sent: CRLF line endings, a frame may end mid-line,',
  '  so join them), `{type:"status",state}` (on open and on change), `{type:"stats",cpuPercent,memoryBytes,players}`',
  '  (every `console.statsIntervalMs`, 5 s), `{type:"exit",code,signal}` (the server process ended; the socket',
  '  closes next), `{type:"expiring",inSeconds}` (see below) and `{type:"error",code:"bad_frame",message}` for a',
  '  malformed frame (the console stays open).',
  '',
  '**Lifetime.** A console ends when its login session expires (the refresh expiry; close 4401 `session expired`)',
  'or `console.maxLifetimeSeconds` (12 h) after it opened (close 4440), whichever is first; `expiring` is sent',
  '`console.expiringNoticeSeconds` (60 s) before. Other closes: 4401 session revoked, 4402 account suspended,',
  '4403 the owner revoked this account\'s access to the server (or its console permission),',
  '4408 a peer stopped answering pings, 4410 server deleted, 4504 the agent did not answer, 1009 a message over',
  'the size cap, 1011 the server crashed.',
].join('\n');

export function consoleRoutes(r: ApiRouter, deps: { tickets: KernelUpgradeTickets }): void {
  r.route({
    method: 'post', path: '/api/servers/:id/console/ticket', summary: 'A single-use ticket (~30 s) to open this server’s console WebSocket', auth: 'user', tags: ['console'],
    description: CONSOLE_PROTOCOL_DESCRIPTION,
    operationId: 'createConsoleTicket', errors: [402],
    params: z.object({ id: z.uuid() }),
    server: { permission: 'console', mutation: true, action: 'console.open' },
    responses: { 200: z.object({ ticket: z.string(), expiresIn: z.number().meta({ description: 'Seconds' }) }) },
    handler: async ({ account, sessionId, server: instance }) => {
      // A key's ticket (the server gate checked its `console` scope) lives only as long as the key.
      const apiKeyId = account.credential?.kind === 'apiKey' ? account.credential.id : undefined;
      const ticket = await deps.tickets.issue({ purpose: CONSOLE_TICKET, accountId: account.id, instanceId: instance.id, sessionId, apiKeyId, role: account.role });
      return { body: { ticket, expiresIn: deps.tickets.ttlSeconds } };
    },
  });
}

/** The console protocol as API.md states it, shown on the WebSocket route of the document. */
const CONSOLE_PROTOCOL = [
  'Upgrades to a WebSocket bridged to the server\'s terminal. The ticket comes from POST …/console/ticket',
  '(single use, about 30 s, bound to this server); the Origin must be one of console.allowedOrigins.',
  'Without a subprotocol, text frames go both ways as raw terminal text.',
  'With `Sec-WebSocket-Protocol: zpack.console.v1`, every frame is JSON:',
  'client → server `{type:"input",data}`, `{type:"resize",cols,rows}`, `{type:"signal",name}`;',
  'server → client `{type:"output",data}` (terminal bytes as sent: CRLF, partial lines), `{type:"status",state}`,',
  '`{type:"stats",cpuPercent,memoryBytes,players}`, `{type:"exit",code,signal}`, `{type:"expiring",inSeconds}`.',
  'Close codes: 4401 the login session ended, 4402 the account is suspended, 4403 access to the server was revoked, 4410 the server was deleted,',
  '4408 a peer stopped answering pings, 4504 the agent is unreachable, 1009 a frame was too big.',
].join('\n');

/** The console WebSocket itself is served by the upgrade dispatcher; this puts it in the document. */
export function consoleSocketDoc(r: ApiRouter): void {
  for (const [prefix, operationId] of [['/api/servers', 'openConsole'], ['/api/game/servers', 'openConsoleCompat']]) {
    r.socket({
      path: `${prefix}/:id/console`, operationId, auth: 'ticket', tags: ['console'],
      summary: 'The server console (WebSocket)', description: CONSOLE_PROTOCOL,
      // The gateway refuses a suspended owner's console before the 101 (ConsoleGateway.accept).
      errors: [402],
      params: z.object({ id: z.uuid() }),
      query: z.object({ ticket: z.string().meta({ description: 'From POST /api/servers/{id}/console/ticket' }) }),
    });
  }
}
