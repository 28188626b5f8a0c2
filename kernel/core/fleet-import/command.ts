import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BootError, HostingProvider, ImportedAccountSection, InstanceType, ZpackError } from '../../api';
import { findingsTable } from '../controller';
import type { Kernel } from '../kernel';
import { FleetImporter, type ImportReport } from './importer';
import { fleetJsonSchema } from './format';
import { sampleFleet, type SampleGame } from './sample';

export const IMPORT_USAGE = `zpack import <fleet.json> [--dry-run] [--json]   import the fleet of the system being replaced
       zpack import --verify                   re-check the imported fleet against the real systems, read-only
       zpack import --sample [--accounts N] [--servers M] [--out file]   write a sample export and import it
       zpack import --schema                   print the JSON Schema of the import format`;

/** `zpack import …`: runs in a booted kernel with its plugins started (no HTTP, no queue work). */
export async function importCommand(kernel: Kernel, args: string[], print: (line: string) => void = console.log): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, sample: { type: 'boolean' }, schema: { type: 'boolean' }, verify: { type: 'boolean' },
      accounts: { type: 'string' }, servers: { type: 'string' }, out: { type: 'string' },
    },
  });
  if (values.schema) {
    print(JSON.stringify(fleetJsonSchema(), null, 2));
    return 0;
  }
  if (values.verify) return verifyImported(kernel, print);
  let raw: unknown;
  if (values.sample) {
    const fleet = sampleFleet({ game: await sampleGame(kernel), accounts: count(values.accounts, 30), servers: count(values.servers, 60), nodes: ['pve1'] });
    if (values.out) writeFileSync(values.out, JSON.stringify(fleet, null, 2));
    raw = fleet;
  } else {
    if (positionals.length !== 1) throw new BootError(`import needs one file\nusage: ${IMPORT_USAGE}`, 'invalid_arguments');
    raw = readJson(positionals[0]);
  }
  const importer = new FleetImporter({
    ds: kernel.ds, logger: kernel.logger, hosting: () => kernel.optional(HostingProvider),
    types: () => kernel.resolveAll(InstanceType),
    sections: () => kernel.resolveAll(ImportedAccountSection),
  });
  let report: ImportReport;
  try {
    report = await importer.run(FleetImporter.parse(raw), { dryRun: values['dry-run'] });
  } catch (err) {
    if (err instanceof ZpackError) throw new BootError(err.message, err.code);
    throw err;
  }
  if (values.json) print(JSON.stringify({ ...report, importedInstanceIds: undefined }, null, 2));
  else printReport(report, print);
  return 0;
}

/**
 * One controller pass, recording nothing, over the imported servers only: every drift between the
 * database and the hosts, the agents, DNS and the proxy is listed (the elected controller records the
 * same findings as repair proposals on its own passes). Exits 1 when anything drifts.
 */
async function verifyImported(kernel: Kernel, print: (line: string) => void): Promise<number> {
  const imported = new Set<string>((await kernel.ds.query(`SELECT target_id AS id FROM fleet_import_row WHERE kind = 'server'`)).map((r: { id: string }) => r.id));
  const pass = await kernel.controller.dryRun();
  const findings = pass.findings.filter((f) => f.instanceId && imported.has(f.instanceId));
  print(findingsTable({ ...pass, findings, instances: imported.size }));
  const [tagged] = await kernel.ds.query(`SELECT count(*)::int AS n FROM fleet_import_row WHERE kind = 'server'`);
  print(`\nrollback: the import deleted nothing on the hosts, in DNS or in the proxy. To hand the fleet back, stop zpack's controller and`);
  print(`workers, start the old system again, and (optionally) remove the "managed" tag zpack added to ${tagged.n} container(s).`);
  return findings.length ? 1 : 0;
}

/** The sample's servers run the first enabled game type, with its default options. */
async function sampleGame(kernel: Kernel): Promise<SampleGame> {
  const type = kernel.resolveAll(InstanceType).find((t) => t.kind === 'game');
  if (!type) throw new BootError('import --sample needs an enabled game type', 'invalid_arguments');
  const options = type.optionsSchema.parse({}) as Record<string, unknown>;
  const account = { id: '00000000-0000-0000-0000-000000000000', email: 'sample@zpack.invalid', role: 'user' as const, billingExempt: false };
  const plan = await type.plan({ account, kind: type.kind, type: type.type, name: 'sample', options, portNeeds: [], agentPayload: {} });
  return { type: type.type, options: () => options, port: plan.portNeeds[0]?.name ?? 'game' };
}

function count(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new BootError(`"${value}" is not a count from 0 to 100000`, 'invalid_arguments');
  return n;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BootError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'import_file_unreadable');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BootError(`${file} is not JSON (${(err as Error).message})`, 'import_file_invalid');
  }
}

function printReport(r: ImportReport, print: (line: string) => void): void {
  const line = (what: string, c: Record<string, number>) => `${what.padEnd(9)} imported ${c.imported}, skipped ${c.skipped} (already present), refused ${c.refused}`;
  print(`${r.dryRun ? 'dry run (nothing written) of' : 'import of'} ${r.source ?? 'a fleet'}:`);
  print(line('accounts', r.accounts));
  print(line('servers', r.servers));
  const listed = r.rows.filter((row) => row.outcome === 'refused');
  for (const row of listed.slice(0, 100)) print(`  refused ${row.kind} ${row.ref}: ${row.reason}`);
  if (listed.length > 100) print(`  … and ${listed.length - 100} more refused rows (--json lists them all)`);
  const a = r.adoption;
  if (!r.dryRun) print(`containers marked as managed: ${a.tagged} now, ${a.alreadyManaged} already; ${a.failed.length} could not be (the controller proposes what to do)`);
  for (const f of a.failed.slice(0, 20)) print(`  not adopted: server ${f.ref} (VMID ${f.vmid}): ${f.reason}`);
  for (const note of r.notes) print(`note: ${note}`);
}
