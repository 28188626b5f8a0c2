import { randomBytes } from 'node:crypto';
import WebSocket, { type RawData } from 'ws';
import { elapsedMs } from './concurrency';

/**
 * Opens a console WebSocket and resolves once its first frame arrived (the agent replays its
 * log on attach, so the console reaches the agent); rejects with the status of a refused upgrade.
 */
export function openConsole(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: timeoutMs });
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

export interface Pumped {
  roundTrips: number;
  framesIn: number;
  bytesIn: number;
  bytesOut: number;
  ms: number;
}

/**
 * Keeps `window` `say` commands in flight for `forMs`, then drains: a command is done when its
 * `[Server] …` answer arrives (the agent also echoes `> say …`; both frames are counted).
 */
export function pump(ws: WebSocket, forMs: number, window: number, payloadBytes: number): Promise<Pumped> {
  const tag = randomBytes(4).toString('hex');
  const answer = Buffer.from(`[Server] ${tag}-`);
  const pad = 'x'.repeat(payloadBytes);
  const stats = { roundTrips: 0, framesIn: 0, bytesIn: 0, bytesOut: 0 };
  let sent = 0;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const send = () => {
      const line = `say ${tag}-${sent++} ${pad}`;
      stats.bytesOut += Buffer.byteLength(line);
      ws.send(line);
    };
    const onClose = (code: number) => reject(new Error(`console closed (${code}) while pumping`));
    const onMessage = (data: RawData) => {
      const frame = data as Buffer;
      stats.framesIn++;
      stats.bytesIn += frame.length;
      if (frame.compare(answer, 0, answer.length, 0, Math.min(answer.length, frame.length)) !== 0) return;
      stats.roundTrips++;
      if (elapsedMs(started) < forMs) return send();
      if (stats.roundTrips === sent) {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        resolve({ ...stats, ms: elapsedMs(started) });
      }
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    for (let i = 0; i < window; i++) send();
  });
}

/** `count` commands one at a time; the time from send to its `[Server] …` answer, each. */
export async function roundTripTimes(ws: WebSocket, count: number, payloadBytes: number): Promise<number[]> {
  const tag = randomBytes(4).toString('hex');
  const pad = 'x'.repeat(payloadBytes);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const expected = `[Server] ${tag}-${i} ${pad}`;
    const sent = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const onClose = (code: number) => reject(new Error(`console closed (${code}) during round trip ${i}`));
      const onMessage = (data: RawData) => {
        if ((data as Buffer).toString() !== expected) return;
        ws.off('message', onMessage);
        ws.off('close', onClose);
        resolve();
      };
      ws.on('message', onMessage);
      ws.once('close', onClose);
      ws.send(`say ${tag}-${i} ${pad}`);
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
