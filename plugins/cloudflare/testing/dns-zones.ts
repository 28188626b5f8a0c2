import { randomBytes } from 'node:crypto';

/** A record as the simulator stores and answers it (the fields Cloudflare returns that zpack may read). */
export interface SimulatedRecord {
  id: string;
  zone_id: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
  proxied: false;
  /** SRV only: priority, weight, port, target. */
  data?: { priority: number; weight: number; port: number; target: string };
  priority?: number;
  comment: string | null;
  created_on: string;
  modified_on: string;
}

/** What a client may send to create or replace a record. */
export interface RecordInput {
  type?: unknown;
  name?: unknown;
  content?: unknown;
  ttl?: unknown;
  data?: unknown;
  comment?: unknown;
}

/** Cloudflare's name filters: `name` and `name.exact` match whole names, the others parts of them. */
export type NameFilter = { op: 'exact' | 'contains' | 'startswith' | 'endswith'; value: string };

export interface RecordQuery {
  type?: string;
  name?: NameFilter;
  page: number;
  perPage: number;
}

/** An answer the simulator gives instead of a result: status plus one Cloudflare error. */
export class SimulatedFailure extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }
}

function nameMatches(name: string, filter: NameFilter): boolean {
  const value = filter.value.toLowerCase();
  if (filter.op === 'contains') return name.includes(value);
  if (filter.op === 'startswith') return name.startsWith(value);
  if (filter.op === 'endswith') return name.endsWith(value);
  return name === value.replace(/\.$/, '');
}

const recordMissing = () => new SimulatedFailure(404, 81044, 'Record does not exist.');
const invalid = (why: string) => new SimulatedFailure(400, 1004, `DNS Validation Error: ${why}`);
const u16 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65_535;

/** DNS records per zone id, in memory. Any zone id is accepted and starts empty. */
export class SimulatedZones {
  private readonly zones = new Map<string, Map<string, SimulatedRecord>>();

  list(zoneId: string, query: RecordQuery): { records: SimulatedRecord[]; totalCount: number } {
    const matching = this.records(zoneId).filter((r) => (!query.type || r.type === query.type) && (!query.name || nameMatches(r.name, query.name)));
    const start = (query.page - 1) * query.perPage;
    return { records: matching.slice(start, start + query.perPage), totalCount: matching.length };
  }

  create(zoneId: string, input: RecordInput): SimulatedRecord {
    const record = build(zoneId, input);
    this.refuseIdentical(zoneId, record);
    this.zone(zoneId).set(record.id, record);
    return record;
  }

  /** PUT: every field replaced. */
  replace(zoneId: string, id: string, input: RecordInput): SimulatedRecord {
    const current = this.zone(zoneId).get(id);
    if (!current) throw recordMissing();
    const record = { ...current, ...validate(input), modified_on: new Date().toISOString() };
    this.refuseIdentical(zoneId, record);
    this.zone(zoneId).set(id, record);
    return record;
  }

  /** PATCH: the fields sent are merged over the record. */
  patch(zoneId: string, id: string, input: RecordInput): SimulatedRecord {
    const current = this.zone(zoneId).get(id);
    if (!current) throw recordMissing();
    const { type, name, content, ttl, data, comment } = current;
    return this.replace(zoneId, id, { type, name, content, ttl, data, comment, ...input });
  }

  remove(zoneId: string, id: string): { id: string } {
    if (!this.zone(zoneId).delete(id)) throw recordMissing();
    return { id };
  }

  /** Puts a record in place without Cloudflare's checks, e.g. a duplicate or a stale one. */
  add(zoneId: string, input: RecordInput): SimulatedRecord {
    const record = build(zoneId, input);
    this.zone(zoneId).set(record.id, record);
    return record;
  }

  /** A zone's records, or every zone's when no id is given, in creation order. */
  records(zoneId?: string): SimulatedRecord[] {
    const zones = zoneId === undefined ? [...this.zones.values()] : [this.zone(zoneId)];
    return zones.flatMap((z) => [...z.values()]);
  }

  clear(): void {
    this.zones.clear();
  }

  /** Records saved by an earlier run, as they were (ids and timestamps kept). */
  restore(saved: SimulatedRecord[]): void {
    for (const record of saved) this.zone(record.zone_id).set(record.id, { ...record });
  }

  private zone(zoneId: string): Map<string, SimulatedRecord> {
    let zone = this.zones.get(zoneId);
    if (!zone) this.zones.set(zoneId, (zone = new Map()));
    return zone;
  }

  private refuseIdentical(zoneId: string, record: SimulatedRecord): void {
    const twin = this.records(zoneId).find((r) => r.id !== record.id && r.type === record.type && r.name === record.name && r.content === record.content);
    if (twin) throw new SimulatedFailure(400, 81058, 'An identical record already exists.');
  }
}

function build(zoneId: string, input: RecordInput): SimulatedRecord {
  const now = new Date().toISOString();
  return { id: randomBytes(16).toString('hex'), zone_id: zoneId, ...validate(input), created_on: now, modified_on: now };
}

type Validated = Pick<SimulatedRecord, 'type' | 'name' | 'content' | 'ttl' | 'proxied' | 'data' | 'priority' | 'comment'>;

/** Cloudflare's checks on the fields zpack sends; SRV content is derived from `data`. */
function validate(input: RecordInput): Validated {
  const { type, name, ttl = 1, comment = null } = input;
  if (typeof type !== 'string' || !type) throw invalid('type is required');
  if (typeof name !== 'string' || !name.trim()) throw invalid('name is required');
  if (!Number.isInteger(ttl) || (ttl !== 1 && ((ttl as number) < 30 || (ttl as number) > 86_400))) throw invalid('ttl must be 1 (automatic) or 30..86400');
  if (comment !== null && typeof comment !== 'string') throw invalid('comment must be a string');
  const base = { type, name: name.trim().toLowerCase().replace(/\.$/, ''), ttl: ttl as number, proxied: false as const, comment };
  if (type !== 'SRV') {
    if (typeof input.content !== 'string' || !input.content) throw invalid(`content is required for ${type} records`);
    return { ...base, content: input.content, data: undefined, priority: undefined };
  }
  const data = (input.data ?? {}) as Record<string, unknown>;
  const { priority, weight, port, target } = data;
  if (!u16(priority) || !u16(weight) || !u16(port)) throw invalid('SRV data.priority, data.weight and data.port must be integers 0..65535');
  if (typeof target !== 'string' || !target) throw invalid('SRV data.target is required');
  if (!/^_[a-z0-9-]+\._(tcp|udp|tls)\./i.test(base.name)) throw invalid('SRV name must start with _service._proto.');
  return { ...base, content: `${weight} ${port} ${target}`, priority, data: { priority, weight, port, target } };
}
