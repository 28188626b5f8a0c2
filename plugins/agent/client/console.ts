import { WebSocket } from 'ws';
import { AgentError, CONSOLE_PROTOCOL_V1 } from '../../../kernel/api';
import { TEXT_BODY_LIMIT, joinAgentUrl, parseBody } from './wire';

/** A console frame is a chunk of PTY output; anything bigger is a misbehaving agent, not a log line. */
export const CONSOLE_MAX_PAYLOAD = 1024 * 1024;

/**
 * Opens the agent's console WebSocket, resolved only once open. It speaks `zpack.console.v1`
 * (offered as the subprotocol; an agent that does not select it fails the handshake). Frames are held until the caller
 * attaches its first 'message' listener: the agent replays the log right after the upgrade, and
 * those frames would otherwise be emitted before the caller's `await` resumes.
 */
export function connectConsole(baseUrl: string, token: string, timeoutMs: number): Promise<WebSocket> {
  const url = new URL(joinAgentUrl(baseUrl, 'console'));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url, [CONSOLE_PROTOCOL_V1], {
    headers: { authorization: `Bearer ${token}` },
    maxPayload: CONSOLE_MAX_PAYLOAD,
    // A redirect would carry the bearer token elsewhere.
    followRedirects: false,
  });
  return new Promise((resolve, reject) => {
    const fail = (reason: string, status = 0, body: unknown = { reason }): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      // An error listener stays so a late failure of the terminated socket is not an uncaught event.
      socket.on('error', () => undefined);
      socket.terminate();
      reject(new AgentError(`agent console failed: ${reason}`, { status, body }));
    };
    const timer = setTimeout(() => fail('connect_timeout'), timeoutMs);
    socket.once('open', () => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.pause();
      const resumeOnFirstReader = (event: string | symbol): void => {
        if (event !== 'message') return;
        socket.off('newListener', resumeOnFirstReader);
        // newListener fires before the listener is added: resume once it is in place.
        queueMicrotask(() => socket.resume());
      };
      socket.on('newListener', resumeOnFirstReader);
      resolve(socket);
    });
    // The agent refused the 101: its status and body are the error, as for any other call.
    socket.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text = (text + chunk).slice(0, TEXT_BODY_LIMIT);
      });
      res.once('end', () => fail(`upgrade refused with HTTP ${status}`, status, parseBody(text)));
      res.once('error', () => fail(`upgrade refused with HTTP ${status}`, status, parseBody(text)));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  });
}
