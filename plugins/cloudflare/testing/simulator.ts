import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import {
  dropConnection, LoopbackSimulator, parseJsonBody, readBoundedBody, sendSimulatorAnswer, SimulatorStateFile, type SimulatorAnswer, type SimulatorRequestError,
} from '../../../kernel/api';
import { SimulatedFailure, SimulatedZones, type NameFilter, type RecordInput, type SimulatedRecord } from './dns-zones';
import { CloudflareFaults } from './faults';

export type { SimulatedRecord, RecordInput } from './dns-zones';

/** The token and zone the simulator's users get unless told otherwise (the simulator accepts any zone id). */
export const SIMULATOR_TOKEN = 'cloudflare-simulator-token';
export const SIMULATOR_ZONE_ID = '023e105f4ecef8ad9ca31a8372d0c353';

export interface CloudflareSimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Delay before every answer (faults.latencyMs starts here and returns here on reset). */
  latencyMs?: number;
  /** The only bearer token accepted; anything else is answered 401. */
  apiToken?: string;
  /** JSON file the records are kept in across restarts; unset keeps them in memory. */
  stateFile?: string;
}

export interface SimulatorRequest {
  method: string;
  /** Path under /client/v4, e.g. /zones/{zone}/dns_records. */
  path: string;
  query: Record<string, string>;
  /** What it was answered; 0 when the connection was dropped. */
  status: number;
  /** Date.now() when it arrived. */
  at: number;
}

interface Reply {
  status: number;
  body: object;
  headers?: Record<string, string>;
}
type Handler = (zones: SimulatedZones, zoneId: string, id: string | undefined, body: RecordInput, query: URLSearchParams) => Reply;

const PREFIX = '/client/v4';
const RECORDS = /^\/zones\/([^/]+)\/dns_records(?:\/([^/]+))?$/;
const MAX_PER_PAGE = 5_000;
/** The log keeps the latest requests only: the embedded default runs for as long as zpack does. */
const REQUEST_LOG_LIMIT = 1000;

const ok = (result: unknown, status = 200, extra: object = {}): Reply => ({ status, body: { success: true, errors: [], messages: [], result, ...extra } });
const failure = (status: number, code: number, message: string, headers?: Record<string, string>): Reply =>
  ({ status, headers, body: { success: false, errors: [{ code, message }], messages: [], result: null } });

/** Routes by method, then by whether the path names one record. */
const HANDLERS: Record<string, { collection?: Handler; record?: Handler }> = {
  GET: { collection: (zones, zoneId, _id, _body, q) => list(zones, zoneId, q) },
  POST: { collection: (zones, zoneId, _id, body) => ok(zones.create(zoneId, body)) },
  PUT: { record: (zones, zoneId, id, body) => ok(zones.replace(zoneId, id!, body)) },
  PATCH: { record: (zones, zoneId, id, body) => ok(zones.patch(zoneId, id!, body)) },
  DELETE: { record: (zones, zoneId, id) => ok(zones.remove(zoneId, id!)) },
};

/**
 * The Cloudflare v4 DNS records API on loopback, for tests and the embedded default: bearer
 * auth, the `{success, errors, messages, result, result_info}` envelope, records in memory per
 * zone, and injectable faults (latency, 5xx, 429 with Retry-After, dropped connections).
 */
export class CloudflareSimulator extends LoopbackSimulator {
  readonly faults: CloudflareFaults;
  /** The latest requests received, in order, including the ones answered with an injected fault. */
  readonly requests: SimulatorRequest[] = [];
  private readonly zones = new SimulatedZones();
  private readonly state: SimulatorStateFile<SimulatedRecord[]>;

  /** Its API base URL once started is e.g. http://127.0.0.1:18443/client/v4. */
  constructor(private readonly options: CloudflareSimulatorOptions = {}) {
    super(options, PREFIX);
    this.faults = new CloudflareFaults(options.latencyMs ?? 0);
    this.state = new SimulatorStateFile(options.stateFile);
    this.zones.restore(this.state.load() ?? []);
  }

  /** A zone's records, or every zone's, in creation order. */
  records(zoneId?: string): SimulatedRecord[] {
    return this.zones.records(zoneId);
  }

  /** Puts a record in place without Cloudflare's checks, e.g. a duplicate or a stale one. */
  addRecord(zoneId: string, input: RecordInput): SimulatedRecord {
    const record = this.zones.add(zoneId, input);
    this.save();
    return record;
  }

  /** Forgets records and the request log, and clears every fault. */
  reset(): void {
    this.zones.clear();
    this.requests.length = 0;
    this.faults.clear();
    this.save();
  }

  protected failure(err: SimulatorRequestError): SimulatorAnswer {
    return answerFailure(err);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) : url.pathname;
    const entry: SimulatorRequest = { method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), status: 0, at: Date.now() };
    this.requests.push(entry);
    if (this.requests.length > REQUEST_LOG_LIMIT) this.requests.shift();
    const raw = await readBoundedBody(req).catch((err: SimulatorRequestError) => {
      entry.status = err.status;
      throw err;
    });
    await this.faults.delay();
    if (this.faults.takeDrop()) return dropConnection(req);
    const reply = this.answer(req, path, url.searchParams, raw);
    entry.status = reply.status;
    this.save();
    sendSimulatorAnswer(res, reply);
  }

  private save(): void {
    // Without a state file there is nothing to write: copying the whole state per request would make a big fleet quadratic.
    if (!this.state.file) return;
    this.state.save(this.zones.records());
  }

  private answer(req: IncomingMessage, path: string, query: URLSearchParams, raw: Buffer): Reply {
    if (req.headers.authorization !== `Bearer ${this.options.apiToken ?? SIMULATOR_TOKEN}`) return failure(401, 10000, 'Authentication error');
    const method = req.method ?? 'GET';
    const retryAfter = this.faults.takeRateLimit(method);
    if (retryAfter !== undefined) {
      return failure(429, 971, 'Please wait and consider throttling your request speed', { 'Retry-After': String(retryAfter) });
    }
    const injected = this.faults.takeFailure(method);
    if (injected !== undefined) return failure(injected, 10002, http.STATUS_CODES[injected] ?? 'Internal Server Error');
    const match = RECORDS.exec(path);
    const handler = match && HANDLERS[method]?.[match[2] ? 'record' : 'collection'];
    if (!match || !handler) return failure(400, 7000, 'No route for that URI');
    try {
      const body = (parseJsonBody(raw) ?? {}) as RecordInput;
      const [zoneId, id] = [match[1], match[2]].map((s) => (s === undefined ? s : decodeURIComponent(s)));
      return handler(this.zones, zoneId!, id, body, this.faults.ignoreListFilter ? unfiltered(query) : query);
    } catch (err) {
      if (err instanceof SimulatedFailure) return failure(err.status, err.code, err.message);
      throw err;
    }
  }
}

function unfiltered(query: URLSearchParams): URLSearchParams {
  const rest = new URLSearchParams(query);
  rest.delete('type');
  for (const key of [...rest.keys()]) if (key === 'name' || key.startsWith('name.')) rest.delete(key);
  return rest;
}

function list(zones: SimulatedZones, zoneId: string, q: URLSearchParams): Reply {
  const page = Math.max(1, Number.parseInt(q.get('page') ?? '1', 10) || 1);
  const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Number.parseInt(q.get('per_page') ?? '100', 10) || 100));
  const { records, totalCount } = zones.list(zoneId, { type: q.get('type') ?? undefined, name: nameFilter(q), page, perPage });
  const info = { page, per_page: perPage, count: records.length, total_count: totalCount, total_pages: Math.ceil(totalCount / perPage) };
  return ok(records, 200, { result_info: info });
}

/** `name=` and `name.exact=` (what the official SDK sends) match whole names; `name.contains=` … parts. */
function nameFilter(q: URLSearchParams): NameFilter | undefined {
  for (const op of ['exact', 'contains', 'startswith', 'endswith'] as const) {
    const value = q.get(`name.${op}`);
    if (value !== null) return { op, value };
  }
  const plain = q.get('name');
  return plain === null ? undefined : { op: 'exact', value: plain };
}

/** Cloudflare's own codes for what the shared request handling refuses. */
function answerFailure(err: SimulatorRequestError): Reply {
  if (err.code === 'invalid_json') return failure(400, 9207, 'Request body is invalid.');
  if (err.code === 'invalid_url') return failure(400, 7003, 'Could not route to the given URI, perhaps your object identifier is invalid?');
  if (err.code === 'body_too_large') return failure(413, 10000, 'Request entity too large');
  return failure(500, 10002, err.message);
}
