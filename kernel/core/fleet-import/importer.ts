import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { InvalidRequestError, eachLimited } from '../../api';
import type { AccountView, HostingProvider, ImportedAccountSection, InstanceType } from '../../api';
import { algorithmOf } from '../auth/passwords';
import { fleetFile, PASSWORD_ALGORITHMS, type FleetAccount, type FleetFile, type FleetServer } from './format';

export type RowOutcome = 'imported' | 'skipped' | 'refused';

export interface ImportRow {
  kind: 'account' | 'server';
  ref: string;
  outcome: RowOutcome;
  reason?: string;
}

export interface ImportReport {
  source: string | null;
  dryRun: boolean;
  accounts: Record<RowOutcome, number>;
  servers: Record<RowOutcome, number>;
  /** Every skipped and refused row with its reason (imported rows are counted, not listed). */
  rows: ImportRow[];
  /** What the file held that nothing here took (a section no enabled plugin imports). */
  notes: string[];
  /** The instances this run wrote, for the adoption check that follows. */
  importedInstanceIds: string[];
  /** How long writing the rows and adopting the containers took, ms. */
  timings: { writeMs: number; adoptMs: number };
  /** The containers of the imported servers, marked as ours (HostingProvider.markManaged). */
  adoption: {
    tagged: number; alreadyManaged: number; failed: Array<{ ref: string; vmid: number; reason: string }>;
    /** Adopted, but with no address yet (a stopped container has none): the controller records it once it runs. */
    addressPending: number;
  };
}

interface Deps {
  ds: DataSource;
  /** Absent (or unable to adopt): containers stay as they are, and the report says so. */
  hosting?: () => HostingProvider | undefined;
  types: () => InstanceType[];
  sections: () => ImportedAccountSection[];
  logger: Logger;
}

/** A server row as it will be written: a dev container's runtime and version join its type's options. */
interface ServerRow extends FleetServer {
  row: 'server' | 'devContainer';
}

/** Account transactions in flight at once: well under the pool, so the API keeps connections. */
const ACCOUNT_LANES = 4;
const PORT_MIN = 1024;
const PORT_MAX = 65535;

/**
 * Imports the fleet of the system being replaced. Rows are checked on their own first, so a bad
 * row is refused with its reason and the rest imported; each account is then written with its
 * servers in one transaction. Rows imported before are skipped, so a second run changes nothing.
 */
export class FleetImporter {
  constructor(private readonly deps: Deps) {}

  /** A file that is not the format is one clear error, before anything is written. */
  static parse(raw: unknown): FleetFile {
    const parsed = fleetFile.safeParse(raw);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new InvalidRequestError(`not a zpack fleet file (format "zpack.fleet", version 1): ${issues.join('; ')}`, { issues });
  }

  async run(file: FleetFile, options: { dryRun?: boolean } = {}): Promise<ImportReport> {
    const dryRun = options.dryRun ?? false;
    const report: ImportReport = {
      source: file.source ?? null, dryRun, rows: [], notes: [], importedInstanceIds: [], timings: { writeMs: 0, adoptMs: 0 }, adoption: { tagged: 0, alreadyManaged: 0, failed: [], addressPending: 0 },
      accounts: { imported: 0, skipped: 0, refused: 0 }, servers: { imported: 0, skipped: 0, refused: 0 },
    };
    const started = performance.now();
    const known = await this.known();
    const servers: ServerRow[] = [
      ...file.servers.map((s) => ({ ...s, row: 'server' as const })),
      ...file.devContainers.map((d) => ({
        ...d, kind: 'dev', options: { ...d.options, runtime: d.runtime, version: d.version }, row: 'devContainer' as const,
      })),
    ];
    const refuse = (kind: ImportRow['kind'], ref: string, reason: string) => {
      report.rows.push({ kind, ref, outcome: 'refused', reason });
      report[kind === 'account' ? 'accounts' : 'servers'].refused++;
    };
    const skip = (kind: ImportRow['kind'], ref: string, reason: string) => {
      report.rows.push({ kind, ref, outcome: 'skipped', reason });
      report[kind === 'account' ? 'accounts' : 'servers'].skipped++;
    };

    const accepted = this.checkAccounts(file.accounts, known, refuse);
    const byOwner = this.checkServers(servers, accepted, known, refuse);
    const sections = this.deps.sections();
    const unsupported = new Set<string>();

    const importAccount = async ([ref, account]: [string, FleetAccount]): Promise<void> => {
      const own = byOwner.get(ref) ?? [];
      const existing = known.accountRefs.get(ref);
      const fresh = own.filter((s) => {
        if (!known.serverRefs.has(s.ref)) return true;
        skip('server', s.ref, 'already imported');
        return false;
      });
      if (existing) skip('account', ref, 'already imported');
      if (existing && !fresh.length) return;
      if (dryRun) {
        if (!existing) report.accounts.imported++;
        report.servers.imported += fresh.length;
        return;
      }
      try {
        const ids = await this.deps.ds.transaction(async (m) => {
          const accountId = existing ?? await this.writeAccount(m, account, file.source ?? null, sections, unsupported);
          const owner: AccountView = { id: accountId, email: account.email, role: account.role, billingExempt: account.billingExempt };
          const written: string[] = [];
          for (const s of fresh) written.push(await this.writeServer(m, owner, s, file.source ?? null));
          return written;
        });
        if (!existing) report.accounts.imported++;
        report.servers.imported += ids.length;
        report.importedInstanceIds.push(...ids);
      } catch (err) {
        this.deps.logger.warn({ err, account: ref }, 'import of an account failed; nothing of it was written');
        const reason = `not written: ${(err as Error).message}`;
        if (!existing) refuse('account', ref, reason);
        for (const s of fresh) refuse('server', s.ref, reason);
      }
    };
    // Accounts are independent (the file was checked as a whole first): a few transactions at once.
    const queue = [...accepted];
    const lane = async () => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) await importAccount(entry);
    };
    await Promise.all(Array.from({ length: ACCOUNT_LANES }, lane));
    for (const section of unsupported) report.notes.push(`"${section}" sections were not imported: no enabled plugin imports them`);
    report.timings.writeMs = Math.round(performance.now() - started);
    if (!dryRun) await this.adopt(report);
    report.timings.adoptMs = Math.round(performance.now() - started) - report.timings.writeMs;
    return report;
  }

  /**
   * Marks each imported server's container as ours, so zpack may manage (and one day delete) it,
   * and records where its agent is reached. Nothing is created or destroyed; a container that cannot be adopted (missing, another node)
   * is listed, and the controller proposes what to do about it on its next pass.
   */
  private async adopt(report: ImportReport): Promise<void> {
    const hosting = this.deps.hosting?.();
    if (!report.importedInstanceIds.length) return;
    if (!hosting) {
      report.notes.push('no hosting provider is enabled: containers were not marked as managed');
      return;
    }
    const rows: Array<{ id: string; vmid: number; node: string; ref: string }> = await this.deps.ds.query(
      `SELECT i.id, i.vmid, i.node, r.ref FROM instance i JOIN fleet_import_row r ON r.target_id = i.id WHERE i.id = ANY($1::uuid[])`,
      [report.importedInstanceIds],
    );
    // One bulk read of the hosts when the provider can list; otherwise each container is asked on its own.
    const listed = await hosting.list().then((all) => new Map(all.map((c) => [c.vmid, c] as const)), () => undefined);
    const addresses: Array<{ id: string; agentUrl: string; host: string }> = [];
    await eachLimited(rows, 8, async (row) => {
      const ref = { vmid: row.vmid, node: row.node };
      const seen = listed?.get(row.vmid);
      if (listed && (!seen || seen.node !== row.node)) {
        const reason = seen ? `CT ${row.vmid} is on node ${seen.node}, not ${row.node}` : `CT ${row.vmid} does not exist on any node`;
        report.adoption.failed.push({ ref: row.ref, vmid: row.vmid, reason });
        return;
      }
      try {
        const outcome = seen?.managed ? 'already_managed' : await hosting.markManaged(ref, seen);
        if (outcome === 'tagged') report.adoption.tagged++;
        else report.adoption.alreadyManaged++;
      } catch (err) {
        report.adoption.failed.push({ ref: row.ref, vmid: row.vmid, reason: (err as Error).message });
        return;
      }
      // A stopped container has no address yet: the controller records it once the server runs.
      if (seen && seen.status !== 'running') {
        report.adoption.addressPending++;
        return;
      }
      try {
        // Where its agent and the proxy reach it: the controller follows it from here on.
        const live = await hosting.address(ref);
        addresses.push({ id: row.id, agentUrl: live.agentUrl, host: live.host });
      } catch {
        report.adoption.addressPending++;
      }
    });
    for (let i = 0; i < addresses.length; i += 5000) {
      const chunk = addresses.slice(i, i + 5000);
      await this.deps.ds.query(
        `UPDATE instance i SET address = a.address, host = a.host FROM unnest($1::uuid[], $2::text[], $3::text[]) AS a(id, address, host) WHERE i.id = a.id`,
        [chunk.map((a) => a.id), chunk.map((a) => a.agentUrl), chunk.map((a) => a.host)]);
    }
  }

  /** What is here already: imported refs, emails, VMIDs and ports held. */
  private async known() {
    const { ds } = this.deps;
    const [refs, emails, vmids, ports] = await Promise.all([
      ds.query(`SELECT kind, ref, target_id AS "targetId" FROM fleet_import_row`),
      ds.query(`SELECT email FROM account`),
      ds.query(`SELECT vmid FROM vmid_allocation`),
      ds.query(`SELECT port FROM port_allocation`),
    ]) as [Array<{ kind: string; ref: string; targetId: string }>, Array<{ email: string }>, Array<{ vmid: number }>, Array<{ port: number }>];
    return {
      accountRefs: new Map(refs.filter((r) => r.kind === 'account').map((r) => [r.ref, r.targetId])),
      serverRefs: new Set(refs.filter((r) => r.kind === 'server').map((r) => r.ref)),
      emails: new Set(emails.map((e) => e.email)),
      vmids: new Set(vmids.map((v) => v.vmid)),
      ports: new Set(ports.map((p) => p.port)),
    };
  }

  private checkAccounts(
    accounts: FleetAccount[], known: Awaited<ReturnType<FleetImporter['known']>>, refuse: (k: 'account', ref: string, reason: string) => void,
  ): Map<string, FleetAccount> {
    const accepted = new Map<string, FleetAccount>();
    const emails = new Map<string, string>();
    for (const a of accounts) {
      const email = a.email.trim().toLowerCase();
      if (accepted.has(a.ref)) { refuse('account', a.ref, 'the ref appears twice in the file'); continue; }
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) { refuse('account', a.ref, `"${a.email}" is not an email address`); continue; }
      const twin = emails.get(email);
      if (twin) { refuse('account', a.ref, `the email ${email} is already used by account ${twin} in the file (emails differ only in case)`); continue; }
      if (!(PASSWORD_ALGORITHMS as readonly string[]).includes(a.password.algorithm)) {
        refuse('account', a.ref, `unknown password hash algorithm "${a.password.algorithm}" (known: ${PASSWORD_ALGORITHMS.join(', ')})`);
        continue;
      }
      if (algorithmOf(a.password.hash) !== a.password.algorithm) {
        refuse('account', a.ref, `the password hash is not a ${a.password.algorithm} hash`);
        continue;
      }
      if (!known.accountRefs.has(a.ref) && known.emails.has(email)) {
        refuse('account', a.ref, `an account with the email ${email} already exists here and was not imported`);
        continue;
      }
      emails.set(email, a.ref);
      accepted.set(a.ref, { ...a, email });
    }
    return accepted;
  }

  private checkServers(
    servers: ServerRow[], accepted: Map<string, FleetAccount>, known: Awaited<ReturnType<FleetImporter['known']>>,
    refuse: (k: 'server', ref: string, reason: string) => void,
  ): Map<string, ServerRow[]> {
    const types = this.deps.types();
    const claims = new Map<number, string[]>();
    for (const s of servers) claims.set(s.vmid, [...(claims.get(s.vmid) ?? []), s.ref]);
    const portsSeen = new Map<number, string>();
    const refs = new Set<string>();
    const byOwner = new Map<string, ServerRow[]>();
    for (const s of servers) {
      if (refs.has(s.ref)) { refuse('server', s.ref, 'the ref appears twice in the file'); continue; }
      refs.add(s.ref);
      if (!accepted.has(s.owner)) { refuse('server', s.ref, `its owner "${s.owner}" is not an imported account of this file`); continue; }
      const claimants = claims.get(s.vmid)!;
      if (claimants.length > 1) { refuse('server', s.ref, `VMID ${s.vmid} is claimed by ${claimants.length} rows (${claimants.join(', ')})`); continue; }
      if (s.vmid < 100 || s.vmid > 999_999_999) { refuse('server', s.ref, `VMID ${s.vmid} is outside 100–999999999`); continue; }
      if (!known.serverRefs.has(s.ref) && known.vmids.has(s.vmid)) { refuse('server', s.ref, `VMID ${s.vmid} is already held here by another server`); continue; }
      const type = types.find((t) => t.type === s.type && t.kind === s.kind);
      if (!type) { refuse('server', s.ref, `no enabled ${s.kind} type "${s.type}"`); continue; }
      const options = type.optionsSchema.safeParse(s.options);
      if (!options.success) {
        refuse('server', s.ref, `options do not fit the ${s.type} type: ${options.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        continue;
      }
      const badPort = s.ports.find((p) => p.port < PORT_MIN || p.port > PORT_MAX);
      if (badPort) { refuse('server', s.ref, `port ${badPort.port} is outside every node's usable range (${PORT_MIN}–${PORT_MAX})`); continue; }
      const clash = s.ports.find((p) => portsSeen.has(p.port) || (!known.serverRefs.has(s.ref) && known.ports.has(p.port)));
      if (clash) {
        refuse('server', s.ref, `port ${clash.port} is already held by ${portsSeen.get(clash.port) ?? 'another server here'}`);
        continue;
      }
      for (const p of s.ports) portsSeen.set(p.port, s.ref);
      byOwner.set(s.owner, [...(byOwner.get(s.owner) ?? []), { ...s, options: options.data as Record<string, unknown> }]);
    }
    return byOwner;
  }

  private async writeAccount(
    m: EntityManager, a: FleetAccount, source: string | null, sections: ImportedAccountSection[], unsupported: Set<string>,
  ): Promise<string> {
    const [row] = await m.query(
      `INSERT INTO account (email, password_hash, role, billing_exempt, max_instances, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, COALESCE($6::timestamptz, now()), now()) RETURNING id`,
      [a.email, a.password.hash, a.role, a.billingExempt, a.quota?.maxInstances ?? null, a.createdAt ?? null],
    );
    await m.query(`INSERT INTO fleet_import_row (kind, ref, target_id, source) VALUES ('account', $1, $2, $3)`, [a.ref, row.id, source]);
    if (a.billing) {
      const taker = sections.find((s) => s.section === 'billing');
      if (taker) await taker.adopt(row.id, a.billing, m);
      else unsupported.add('billing');
    }
    await m.query(`INSERT INTO audit_event (actor_id, action, target, detail) VALUES (NULL, 'fleet.account_imported', $1, $2)`,
      [row.id, JSON.stringify({ ref: a.ref, source, passwordAlgorithm: a.password.algorithm })]);
    return row.id;
  }

  /**
   * The VMID and ports are reserved even outside the allocation ranges, so no new server takes
   * them. A succeeded create operation records the type's plan (what the agent is told), as if
   * the server had been created here: history, resends and reinstalls read it from there.
   */
  private async writeServer(m: EntityManager, owner: AccountView, s: ServerRow, source: string | null): Promise<string> {
    const ports = s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol }));
    const type = this.deps.types().find((t) => t.type === s.type)!;
    const request = { kind: s.kind, type: s.type, name: s.name, options: s.options };
    const plan = await type.plan({ account: owner, kind: type.kind, type: s.type, name: s.name, options: s.options, portNeeds: [], agentPayload: {} });
    const input = { request, plan: { ...plan, account: undefined }, imported: { source, ref: s.ref } };
    // One statement per server (data-modifying CTEs): a fleet of thousands is not five round trips each.
    const [row] = await m.query(
      `WITH i AS (
         INSERT INTO instance (owner_id, kind, type, name, state, vmid, node, ports, payload, options, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, '{}'::jsonb, $9::jsonb, COALESCE($10::timestamptz, now()), now()) RETURNING id),
       v AS (INSERT INTO vmid_allocation (vmid, instance_id, reason) SELECT $6, id, 'imported' FROM i),
       p AS (INSERT INTO port_allocation (port, instance_id, name) SELECT x.port, i.id, x.name FROM i, jsonb_to_recordset($8::jsonb) AS x(port int, name text)),
       r AS (INSERT INTO fleet_import_row (kind, ref, target_id, source, agent_token) SELECT 'server', $11, id, $12, $13 FROM i),
       o AS (
         INSERT INTO provisioning_operation (account_id, idempotency_key, kind, state, phase, instance_id, input, checkpoint, deadline_at, created_at, updated_at)
         SELECT $1, 'import:' || $11, 'create', 'succeeded', 'done', id, $14::jsonb, '{"adopted":true}'::jsonb, now(), COALESCE($10::timestamptz, now()), now() FROM i)
       SELECT id FROM i`,
      [owner.id, s.kind, s.type, s.name, s.state, s.vmid, s.node, JSON.stringify(ports), JSON.stringify(s.options), s.createdAt ?? null,
        s.ref, source, s.agentToken ?? null, JSON.stringify(input)],
    );
    return row.id;
  }

}
