import { readFileSync, writeFileSync } from 'node:fs';
import { BootError, HostingProvider, ImportedAccountSection, InstanceType, SimulatorSeeder, Tokens, ZpackError } from '../../api';
import { commandArgs } from '../cli-args';
import { findingsTable } from '../controller';
import type { Kernel } from '../kernel';
import { FleetImporter, type ImportReport } from './importer';
import { fleetJsonSchema } from './format';
import { sampleFleet, type SampleGame } from './sample';
import { injectSampleDrift, seedContainers, seedServers, type SampleDrift, type SeedCounts, type SeedDeps } from './seed';

export const IMPORT_USAGE = `zpack import <fleet.json> [--dry-run] [--json]   import the fleet of the system being replaced
       zpack import --verify                   re-check the imported fleet against the real systems, read-only
       zpack import --sample [--accounts N] [--servers M] [--out file]   write a sample export and import it
       zpack import --schema                   print the JSON Schema of the import format`;

/**
 * What `zpack import` was given, checked before anything boots: a mistyped option is refused at
 * once, not after the database and the plugins have started.
 */
export function importArgs(args: string[]) {
  const parsed = commandArgs({
    args, allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, sample: { type: 'boolean' }, schema: { type: 'boolean' }, verify: { type: 'boolean' },
      accounts: { type: 'string' }, servers: { type: 'string' }, out: { type: 'string' },
    },
  }, `usage: ${IMPORT_USAGE}`);
  const { values, positionals } = parsed;
  if (!values.schema && !values.verify && !values.sample && positionals.length !== 1) throw new BootError(`import needs one file\nusage: ${IMPORT_USAGE}`, 'invalid_arguments');
  return parsed;
}

/** `zpack import …`: runs in a booted kernel with its plugins started (no HTTP, no queue work). */
export async function importCommand(kernel: Kernel, args: string[], print: (line: string) => void = console.log): Promise<number> {
  const { values, positionals } = importArgs(args);
  if (values.schema) {
    print(JSON.stringify(fleetJsonSchema(), null, 2));
    return 0;
  }
  if (values.verify) return verifyImported(kernel, print);
  let raw: unknown;
  let sample: { drift: SampleDrift; deps: SeedDeps; counts: SeedCounts } | undefined;
  if (values.sample) {
    // Above the ports zpack allocates, as a real takeover's are: a server created here first keeps its port and the sample's rows import.
    const portBase = kernel.config.provisioning.portRange.max + 1;
    const fleet = sampleFleet({ game: await sampleGame(kernel), accounts: count(values.accounts, 30), servers: count(values.servers, 60), nodes: ['pve1'], portBase });
    sample = { drift: injectSampleDrift(fleet), deps: seedDeps(kernel), counts: { byPlugin: {} } };
    if (values.out) writeFileSync(values.out, JSON.stringify(fleet, null, 2));
    // The old system's world first: the import adopts the containers it finds.
    if (!values['dry-run']) await seedContainers(sample.deps, fleet, sample.drift, sample.counts);
    raw = fleet;
  } else {
    raw = readJson(positionals[0]);
  }
  const importer = new FleetImporter({
    ds: kernel.ds, logger: kernel.logger, hosting: () => kernel.optional(HostingProvider),
    types: () => kernel.resolveAll(InstanceType),
    sections: () => kernel.resolveAll(ImportedAccountSection),
  });
  let report: ImportReport;
  try {
    const file = FleetImporter.parse(raw);
    report = await importer.run(file, { dryRun: values['dry-run'] });
    if (sample && !values['dry-run']) await seedServers(sample.deps, file, sample.drift, sample.counts);
  } catch (err) {
    if (err instanceof ZpackError) throw new BootError(err.message, err.code);
    throw err;
  }
  if (values.json) print(JSON.stringify({ ...report, importedInstanceIds: undefined, sample: sample && { drift: sample.drift, seeded: sample.counts.byPlugin } }, null, 2));
  else {
    printReport(report, print);
    if (sample) printSample(sample, print);
  }
  return 0;
}

/** The simulators of the plugins in simulate mode, reached as their clients reach them (this process or `zpack simulators`). */
function seedDeps(kernel: Kernel): SeedDeps {
  const { config } = kernel;
  return {
    ds: kernel.ds, seeders: kernel.resolveAll(SimulatorSeeder), agentTokens: kernel.resolve(Tokens.AgentTokens),
    controlPlaneUrl: config.server.apiUrl || `http://${config.server.host}:${config.server.port}`,
    instances: async (ids) => {
      const wanted = new Set(ids);
      return (await kernel.directory.list()).filter((i) => wanted.has(i.id));
    },
  };
}

function printSample(sample: { drift: SampleDrift; deps: SeedDeps; counts: SeedCounts }, print: (line: string) => void): void {
  const seeded = Object.entries(sample.counts.byPlugin).map(([name, n]) => `${name} ${n}`).join(', ');
  print(seeded ? `simulators seeded as the old system left them: ${seeded}` : 'no enabled plugin runs a simulator: nothing was seeded');
  const d = sample.drift;
  print(`drift injected: container missing ${d.missingContainer.join(', ') || '-'}; SRV record missing ${d.missingEdge.join(', ') || '-'}; `
    + `proxy registration missing ${d.missingProxy.join(', ') || '-'}; agent with the old system's token ${d.legacyAgent.join(', ') || '-'}; `
    + `${d.alreadyManaged.length} container(s) already tagged as zpack's, the others only with the old system's tag`);
  print('the elected controller proposes repairs for it (GET /api/admin/repairs); `zpack import --verify` lists it now');
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
