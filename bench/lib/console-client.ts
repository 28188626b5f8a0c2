import { randomBytes } from 'node:crypto';
import WebSocket, { type RawData } from 'ws';
import { CONSOLE_PROTOCOL_V1 } from '../../kernel/api';
import { elapsedMs } from './concurrency';

/**
 * Opens a zpack.console.v1 WebSocket and resolves once its first frame arrived (the agent sends
 * the server's state on attach, so the console reaches the agent); rejects with the status of a
 * refused upgrade.
 */
export function openConsole(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [CONSOLE_PROTOCOL_V1], { headers, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${url.replace(/\?.*/, '')}: no console frame within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('message', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.once('unexpected-response', (req, res) => {
      clearTimeout(timer);
      req.destroy();
      reject(new Error(`${url.replace(/\?.*/, '')}: upgrade answered ${res.statusCode}`));
    });
  });
}

/** Types a line at the console, Enter included. */
function type(ws: WebSocket, line: string): number {
  const frame = JSON.stringify({ type: 'input', data: `${line}\r` });
  ws.send(frame);
  return Buffer.byteLength(frame);
}

/** Joins the output frames (which end anywhere) back into lines, as a terminal would. */
function lineReader(onLine: (line: string) => void): (data: RawData) => void {
  let pending = '';
  return (data) => {
    const frame = JSON.parse(String(data)) as { type: string; data?: string };
    if (frame.type !== 'output') return;
    const lines = (pending + frame.data).split('\r\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
}

export interface Pumped {
  roundTrips: number;
  framesIn: number;
  bytesIn: number;
  bytesOut: number;
  ms: number;
}

/**
 * Keeps `window` `say` commands in flight for `forMs`, then drains: a command is done when its
 * `[Server] …` line has arrived (the PTY also echoes the command; every frame is counted).
 */
export function pump(ws: WebSocket, forMs: number, window: number, payloadBytes: number): Promise<Pumped> {
  const tag = randomBytes(4).toString('hex');
  const answer = `[Server] ${tag}-`;
  const pad = 'x'.repeat(payloadBytes);
  const stats = { roundTrips: 0, framesIn: 0, bytesIn: 0, bytesOut: 0 };
  let sent = 0;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const send = () => {
      stats.bytesOut += type(ws, `say ${tag}-${sent++} ${pad}`);
    };
    const onClose = (code: number) => reject(new Error(`console closed (${code}) while pumping`));
    const read = lineReader((line) => {
      if (!line.startsWith(answer)) return;
      stats.roundTrips++;
      if (elapsedMs(started) < forMs) return send();
      if (stats.roundTrips === sent) {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        resolve({ ...stats, ms: elapsedMs(started) });
      }
    });
    const onMessage = (data: RawData) => {
      stats.framesIn++;
      stats.bytesIn += (data as Buffer).length;
      read(data);
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    for (let i = 0; i < window; i++) send();
  });
}

/** `count` commands one at a time; the time from send to its `[Server] …` line, each. */
export async function roundTripTimes(ws: WebSocket, count: number, payloadBytes: number): Promise<number[]> {
  const tag = randomBytes(4).toString('hex');
  const pad = 'x'.repeat(payloadBytes);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const expected = `[Server] ${tag}-${i} ${pad}`;
    const sent = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const onClose = (code: number) => reject(new Error(`console closed (${code}) during round trip ${i}`));
      const onMessage = lineReader((line) => {
        if (line !== expected) return;
        ws.off('message', onMessage);
        ws.off('close', onClose);
        resolve();
      });
      ws.on('message', onMessage);
      ws.once('close', onClose);
      type(ws, `say ${tag}-${i} ${pad}`);
    });
    times.push(elapsedMs(sent));
  }
  return times;
}

/** Closes and waits for the close handshake (bounded). */
export function closeSocket(ws: WebSocket, timeoutMs = 5000): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, timeoutMs);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(1000, 'bench done');
  });
}
