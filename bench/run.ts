import type { Benchmark, BenchmarkReport } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { banner, fixed, table } from './lib/print';
import { signalAllServers, stopAllServers } from './lib/server-process';
import { httpOverhead } from './http-overhead';
import { resync } from './resync';
import { provision } from './provision';
import { status } from './status';
import { consoleBridge } from './console';
import { files } from './files';
import { webhooks } from './webhooks';
import { playerRouting } from './player-routing';
import { mods } from './mods';
import { reconcile } from './reconcile';
import { ideProxy } from './ide-proxy';
import { schedules } from './schedules';
import { notifications } from './notifications';
import { consolePage } from './console-page';
import { importBench } from './import';

/** Every benchmark `npm run bench` runs, in order; `npm run bench -- <name>...` picks some. */
const benchmarks: Benchmark[] = [
  httpOverhead, resync, provision, status, consoleBridge, files, webhooks, playerRouting, mods, reconcile, ideProxy, schedules, notifications, consolePage, importBench,
];

interface Outcome {
  benchmark: Benchmark;
  report?: BenchmarkReport;
  error?: Error;
  seconds: number;
}

function pick(names: string[]): Benchmark[] {
  if (names.length === 0) return benchmarks;
  const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  return benchmarks.filter((b) => names.includes(b.name));
}

function summarise(outcomes: Outcome[]): void {
  banner('Summary');
  const rows: string[][] = [];
  for (const { benchmark, report, error, seconds } of outcomes) {
    if (error) {
      rows.push([benchmark.name, 'did not finish', '-', '-', 'ERROR']);
      continue;
    }
    for (const t of report!.targets) {
      rows.push([benchmark.name, t.name, fixed(t.ratio, 2), `>= ${fixed(t.minimum, 2)}`, verdict(t)]);
    }
    for (const f of report!.figures) rows.push([benchmark.name, f.label, f.value, '', '']);
    rows.push([benchmark.name, 'wall time', `${fixed(seconds, 1)} s`, '', '']);
  }
  table(['benchmark', 'target / figure', 'measured', 'needed', 'result'], rows);
}

async function main(): Promise<void> {
  const chosen = pick(process.argv.slice(2));
  const interrupt = async () => {
    console.error('\ninterrupted: stopping child processes');
    await stopAllServers();
    process.exit(130);
  };
  process.once('SIGINT', () => void interrupt());
  process.once('SIGTERM', () => void interrupt());
  process.on('exit', signalAllServers);

  const outcomes: Outcome[] = [];
  for (const benchmark of chosen) {
    banner(benchmark.name, benchmark.summary);
    const started = Date.now();
    try {
      const report = await benchmark.run();
      outcomes.push({ benchmark, report, seconds: (Date.now() - started) / 1000 });
    } catch (err) {
      console.error(`  ! ${benchmark.name} failed: ${(err as Error).stack ?? err}`);
      await stopAllServers();
      outcomes.push({ benchmark, error: err as Error, seconds: (Date.now() - started) / 1000 });
    }
  }
  summarise(outcomes);
  // A missed target is a finding, not a failure; only a benchmark that could not run fails the command.
  process.exitCode = outcomes.some((o) => o.error) ? 1 : 0;
}

void main();
