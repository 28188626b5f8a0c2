import { setTimeout as sleep } from 'node:timers/promises';
import { z, type ZodType } from 'zod';
import { CloudflareError } from './errors';
import {
  deletedRecord, dnsRecord, envelope,
  type DnsRecord, type DnsRecordFilter, type ResultInfo, type SrvRecordInput,
} from './wire';

export interface CloudflareClientOptions {
  /** e.g. https://api.cloudflare.com/client/v4 */
  baseUrl: string;
  apiToken: string;
  /** Deadline of each HTTP request. */
  timeoutMs: number;
  /** Deadline of one call, its retries and Retry-After waits included. */
  deadlineMs: number;
  /** Extra attempts on 429 (every method) and on 5xx or network failures (all but POST). */
  maxRetries: number;
  /** Records asked per page of a listing. */
  listPageSize: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Query = Record<string, string | number | undefined>;
interface Request<T> {
  operation: string;
  method: Method;
  path: string;
  schema: ZodType<T>;
  query?: Query;
  body?: unknown;
}
interface Answer<T> { result: T; info?: ResultInfo }

const BACKOFF_MS = 200;

/** The wait before retry number `attempt + 1` of a failed call: 200 ms, 400 ms, 800 ms … */
export const retryBackoffMs = (attempt: number): number => BACKOFF_MS * 2 ** attempt;

/** Typed client of the Cloudflare v4 DNS records API: bearer token, JSON envelope unwrapped. */
export class CloudflareClient {
  private readonly base: string;

  constructor(private readonly options: CloudflareClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  /**
   * Every record matching the filter, across all pages. The filter is checked here as well: callers
   * delete what this returns, so a server that ignored the filter must not hand them the whole zone.
   */
  async listDnsRecords(zoneId: string, filter: DnsRecordFilter = {}): Promise<DnsRecord[]> {
    // Keyed by id: a record written between two page reads can shift onto the next page.
    const records = new Map<string, DnsRecord>();
    for (let page = 1; ; page++) {
      const { result, info } = await this.call({
        operation: 'list dns records', method: 'GET', path: recordsPath(zoneId), schema: z.array(dnsRecord),
        query: { type: filter.type, 'name.exact': filter.name, page, per_page: this.options.listPageSize },
      });
      for (const record of result) if (passes(record, filter)) records.set(record.id, record);
      const last = info?.total_pages === undefined ? result.length < this.options.listPageSize : page >= info.total_pages;
      if (last || result.length === 0) return [...records.values()];
    }
  }

  /** Sent again only on 429 (the request was refused, not performed); callers look up before re-creating after other failures. */
  async createDnsRecord(zoneId: string, input: SrvRecordInput): Promise<DnsRecord> {
    const { result } = await this.call({ operation: 'create dns record', method: 'POST', path: recordsPath(zoneId), schema: dnsRecord, body: input });
    return result;
  }

  /** Overwrites the whole record (PUT), so repeating it is harmless. */
  async updateDnsRecord(zoneId: string, id: string, input: SrvRecordInput): Promise<DnsRecord> {
    const { result } = await this.call({ operation: 'update dns record', method: 'PUT', path: recordPath(zoneId, id), schema: dnsRecord, body: input });
    return result;
  }

  async deleteDnsRecord(zoneId: string, id: string): Promise<void> {
    await this.call({ operation: 'delete dns record', method: 'DELETE', path: recordPath(zoneId, id), schema: deletedRecord });
  }

  private async call<T>(request: Request<T>): Promise<Answer<T>> {
    const deadline = Date.now() + this.options.deadlineMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(request, deadline);
      } catch (err) {
        const wait = this.retryWait(err, request.method, attempt);
        if (wait === undefined || Date.now() + wait >= deadline) throw err;
        await sleep(wait);
      }
    }
  }

  /** How long to wait before trying again, or undefined to give up. */
  private retryWait(err: unknown, method: Method, attempt: number): number | undefined {
    if (!(err instanceof CloudflareError) || attempt >= this.options.maxRetries) return undefined;
    if (err.reason === 'rate_limited') {
      const seconds = err.details.retryAfterSeconds as number | undefined;
      return seconds === undefined ? retryBackoffMs(attempt) : seconds * 1000;
    }
    // A POST that failed this way may still have created the record; repeating it could make a second.
    if (err.transient && method !== 'POST') return retryBackoffMs(attempt);
    return undefined;
  }

  private async once<T>(request: Request<T>, deadline: number): Promise<Answer<T>> {
    const { operation, method, schema } = request;
    const url = new URL(this.base + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const budget = Math.max(1, Math.min(this.options.timeoutMs, deadline - Date.now()));
    const signal = AbortSignal.timeout(budget);
    const headers: Record<string, string> = { Authorization: `Bearer ${this.options.apiToken}`, Accept: 'application/json' };
    if (request.body !== undefined) headers['Content-Type'] = 'application/json';
    let status: number;
    let retryAfter: string | null;
    let raw: string;
    try {
      const res = await fetch(url, { method, headers, signal, body: request.body === undefined ? undefined : JSON.stringify(request.body) });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      raw = await res.text();
    } catch (err) {
      if (signal.aborted) throw new CloudflareError(operation, `no answer within ${budget} ms`, 'timeout', { url: url.href }, err);
      const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new CloudflareError(operation, reason, 'network', { url: url.href }, err);
    }
    const body = parseJson(raw);
    if (status >= 400) throw CloudflareError.fromResponse(operation, status, body, parseRetryAfter(retryAfter));
    const parsed = envelope.safeParse(body);
    if (!parsed.success) throw new CloudflareError(operation, 'answer is not a Cloudflare envelope', 'bad_response', { status, body });
    if (!parsed.data.success) throw CloudflareError.fromResponse(operation, status, body);
    const result = schema.safeParse(parsed.data.result);
    if (!result.success) {
      throw new CloudflareError(operation, `unexpected result: ${result.error.issues[0]?.message}`, 'bad_response', { status, body });
    }
    return { result: result.data, info: parsed.data.result_info ?? undefined };
  }
}

const recordsPath = (zoneId: string): string => `/zones/${encodeURIComponent(zoneId)}/dns_records`;
const recordPath = (zoneId: string, id: string): string => `${recordsPath(zoneId)}/${encodeURIComponent(id)}`;

/** Seconds to wait: Retry-After is delay-seconds (what Cloudflare sends) or an HTTP date. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** DNS names compare without case and without the root's trailing dot. */
const dnsName = (name: string): string => name.toLowerCase().replace(/\.$/, '');

function passes(record: DnsRecord, filter: DnsRecordFilter): boolean {
  return (filter.type === undefined || record.type === filter.type) && (filter.name === undefined || dnsName(record.name) === dnsName(filter.name));
}
