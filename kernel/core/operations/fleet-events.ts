import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { returnedRows } from '../database';
import type { EventStreamTiming } from './event-streams';

/** Rows read per poll; a larger burst arrives over the next polls. */
const BATCH = 200;

interface ChangedRow {
  id: string;
  state: string;
  node: string | null;
  deleted: boolean;
  /** Microsecond text, so no change within one millisecond is skipped. */
  mark: string;
  updated_at: string;
}

/**
 * The operator console's live view: a `server` event for every instance row that changed since
 * the stream opened (created, state, node, deleted), read from the table every replica writes.
 */
export class FleetEventStreams {
  private readonly stopping = new AbortController();

  constructor(private readonly ds: DataSource, private readonly timing: EventStreamTiming, private readonly logger: Logger) {}

  open(): Readable {
    const out = new PassThrough();
    void this.follow(out).catch((err) => {
      this.logger.warn({ err }, 'fleet event stream ended by an error');
      out.end();
    });
    return out;
  }

  close(): void {
    this.stopping.abort();
  }

  private async follow(out: PassThrough): Promise<void> {
    const gone = new AbortController();
    out.once('close', () => gone.abort());
    const signal = AbortSignal.any([gone.signal, this.stopping.signal]);
    const [start] = returnedRows<{ mark: string }>(await this.ds.query(`SELECT (extract(epoch FROM now()) * 1000000)::bigint::text AS mark`));
    let mark = start.mark;
    let wroteAt = Date.now();
    const send = (text: string) => {
      out.write(text);
      wroteAt = Date.now();
    };
    send(`retry: ${this.timing.pollMs * 4}\n\n`);
    while (!signal.aborted) {
      const rows = returnedRows<ChangedRow>(await this.ds.query(
        `SELECT id, state, node, deleted_at IS NOT NULL AS deleted, (extract(epoch FROM updated_at) * 1000000)::bigint::text AS mark,
                to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at
           FROM instance WHERE updated_at > 'epoch'::timestamptz + $1::bigint * interval '1 microsecond' ORDER BY updated_at LIMIT ${BATCH}`, [mark]));
      for (const r of rows) {
        send(`event: server\ndata: ${JSON.stringify({ id: r.id, state: r.state, node: r.node, deleted: r.deleted, updatedAt: r.updated_at })}\n\n`);
        mark = r.mark;
      }
      if (Date.now() - wroteAt >= this.timing.heartbeatMs) send(': heartbeat\n\n');
      if (rows.length === BATCH) continue;
      const woke = await sleep(this.timing.pollMs, true, { signal }).catch(() => false);
      if (!woke) break;
    }
    out.end();
  }
}
