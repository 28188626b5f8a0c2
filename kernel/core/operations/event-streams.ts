import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ProvisioningOperation } from '../entities';
import { operationView } from './views';

/** States after which an operation's phase never changes again. */
const FINISHED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'stale']);

export interface EventStreamTiming {
  /** How often the row is read for a new phase. */
  pollMs: number;
  /** A comment line at least this often, so proxies keep a quiet stream open. */
  heartbeatMs: number;
}

/**
 * Server-sent events of operations' phase changes. The stream follows the operation's row,
 * which every worker of any process writes, so it needs no channel of its own and sees what
 * any replica did. `phase` events carry the operation as GET /api/operations/:id shows it;
 * the stream ends with an `end` event once the operation has finished, or when the kernel stops.
 */
export class OperationEventStreams {
  private readonly stopping = new AbortController();

  constructor(private readonly timing: EventStreamTiming, private readonly logger: Logger) {}

  open(first: ProvisioningOperation, load: () => Promise<ProvisioningOperation | null>): Readable {
    const out = new PassThrough();
    void this.follow(out, first, load).catch((err) => {
      this.logger.warn({ err, operationId: first.id }, 'operation event stream ended by an error');
      out.end();
    });
    return out;
  }

  /** Ends every open stream (kernel stop), so no client holds the HTTP server open. */
  close(): void {
    this.stopping.abort();
  }

  private async follow(out: PassThrough, first: ProvisioningOperation, load: () => Promise<ProvisioningOperation | null>): Promise<void> {
    const gone = new AbortController();
    out.once('close', () => gone.abort());
    const signal = AbortSignal.any([gone.signal, this.stopping.signal]);
    let seq = 0;
    let shown = '';
    let wroteAt = Date.now();
    const send = (text: string) => {
      out.write(text);
      wroteAt = Date.now();
    };
    let op: ProvisioningOperation | null = first;
    send(`retry: ${this.timing.pollMs * 4}\n\n`);
    while (op && !signal.aborted) {
      const seen = `${op.state}/${op.phase}`;
      if (seen !== shown) {
        shown = seen;
        send(`id: ${++seq}\nevent: phase\ndata: ${JSON.stringify(operationView(op))}\n\n`);
      }
      if (FINISHED.has(op.state)) {
        send(`id: ${++seq}\nevent: end\ndata: ${JSON.stringify(operationView(op))}\n\n`);
        break;
      }
      if (Date.now() - wroteAt >= this.timing.heartbeatMs) send(': heartbeat\n\n');
      const woke = await sleep(this.timing.pollMs, true, { signal }).catch(() => false);
      if (!woke) break;
      op = await load();
    }
    out.end();
  }
}
