import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { Benchmark, BenchmarkReport, TargetCheck } from './lib/benchmark';
import { verdict } from './lib/benchmark';
import { elapsedMs } from './lib/concurrency';
import { machineCpu, ownCpuMs } from './lib/cpu-usage';
import { agentTokenOf, createServer, signUp, startInstantFleet, startZpackOnFleet, type Fleet } from './lib/fleet';
import { fixed, ms, step, table } from './lib/print';
import { processCpuMs } from './lib/process-cpu';
import { mib, settledRss, watchPeakRss } from './lib/process-memory';
import { mean } from './lib/stats';
import type { ZpackProcess } from './lib/zpack-process';

const FILE_NAME = 'bench-1gib.bin';
const FILE_BYTES = 1024 ** 3;
const CHUNK_BYTES = 1024 ** 2;
const ROUNDS = 2;
const MIN_RATIO = 0.85;
const MAX_RSS_GROWTH_MIB = 64;

interface Download {
  status: number;
  bytes: number;
  chunks: number;
  ms: number;
  /** CPU time of this process (client and agent simulator) and the machine's busy share (all cores) during the transfer. */
  benchCpuMs: number;
  machineBusy: number;
  /** API downloads: the kernel's peak RSS above its level before, and its CPU time. */
  rssGrowth?: number;
  kernelCpuMs?: number;
}

/** 1 GiB of incompressible bytes, written 1 MiB at a time into the server folder. */
async function writeBigFile(file: string): Promise<void> {
  const chunk = randomBytes(CHUNK_BYTES);
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < FILE_BYTES; written += CHUNK_BYTES) await handle.write(chunk);
  } finally {
    await handle.close();
  }
}

/** GET with a fresh connection, counting the body as it streams in and keeping none of it. */
function download(url: string, headers: Record<string, string>): Promise<Download> {
  return new Promise((resolve, reject) => {
    const machine = machineCpu();
    const cpuBefore = ownCpuMs();
    const started = process.hrtime.bigint();
    const req = http.get(url, { headers, agent: false, timeout: 30_000 }, (res) => {
      let bytes = 0;
      let chunks = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        chunks++;
      });
      res.on('end', () => resolve({
        status: res.statusCode ?? 0, bytes, chunks, ms: elapsedMs(started), benchCpuMs: ownCpuMs() - cpuBefore, machineBusy: machine.busy(),
      }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no data for 30 s`)));
    req.on('error', reject);
  });
}

async function throughApi(zpack: ZpackProcess, url: string, token: string): Promise<Download> {
  const before = await settledRss(zpack.pid, 3, 100);
  const cpuBefore = processCpuMs(zpack.pid) ?? NaN;
  const peak = watchPeakRss(zpack.pid, 20);
  let rssGrowth = NaN;
  const result = await download(url, { authorization: `Bearer ${token}` }).finally(() => { rssGrowth = peak.stop() - before; });
  return { ...result, rssGrowth, kernelCpuMs: (processCpuMs(zpack.pid) ?? NaN) - cpuBefore };
}

const mbps = (d: Download) => d.bytes / 1e6 / (d.ms / 1000);

function report(direct: Download[], api: Download[]): BenchmarkReport {
  const ratio = mean(api.map(mbps)) / mean(direct.map(mbps));
  const growth = Math.max(...api.map((d) => d.rssGrowth ?? NaN));
  const bad = [...direct, ...api].filter((d) => d.status !== 200 || d.bytes !== FILE_BYTES).map((d) => `${d.status}, ${d.bytes} bytes`);
  const invalid = bad.length ? `incomplete downloads: ${bad.join('; ')}` : '';
  const checks: TargetCheck[] = [
    { name: 'API / direct download MB/s', ratio, minimum: MIN_RATIO, invalid },
    { name: `${MAX_RSS_GROWTH_MIB} MiB / kernel RSS growth during an API download`, ratio: MAX_RSS_GROWTH_MIB / mib(growth), minimum: 1, invalid },
  ];
  console.log();
  const kib = (d: Download) => `${fixed(d.bytes / d.chunks / 1024, 1)} KiB`;
  const busy = (d: Download) => `${fixed(d.machineBusy * 100)}%`;
  table(
    ['round', 'path', 'time', 'MB/s', 'kernel RSS growth', 'kernel CPU', 'bench CPU', 'machine busy', 'chunk in'],
    direct.flatMap((d, i) => [
      [String(i + 1), 'direct from the agent simulator', ms(d.ms, 0), fixed(mbps(d)), '', '', ms(d.benchCpuMs, 0), busy(d), kib(d)],
      [String(i + 1), 'GET /api/servers/:id/files/download', ms(api[i].ms, 0), fixed(mbps(api[i])), `${fixed(mib(api[i].rssGrowth!), 1)} MiB`, ms(api[i].kernelCpuMs!, 0), ms(api[i].benchCpuMs, 0), busy(api[i]), kib(api[i])],
    ]),
  );
  const cpuPerGib = mean(api.map((d) => d.kernelCpuMs!));
  console.log(`\n  API / direct: ${fixed(ratio, 2)} (target >= ${MIN_RATIO}): ${verdict(checks[0])}`);
  console.log(`  kernel RSS growth (peak, sampled every 20 ms): ${fixed(mib(growth), 1)} MiB (target < ${MAX_RSS_GROWTH_MIB} MiB): ${verdict(checks[1])}`);
  console.log(`  kernel CPU per GiB relayed: ${ms(cpuPerGib, 0)} (${fixed(cpuPerGib / mean(api.map((d) => d.ms)) * 100)}% of one core while it streamed)`);
  const directCpu = mean(direct.map((d) => d.benchCpuMs));
  const apiCpu = mean(api.map((d) => d.benchCpuMs + d.kernelCpuMs!));
  console.log(`  CPU per GiB: direct ${ms(directCpu, 0)}, through the API ${ms(apiCpu, 0)} (this process + kernel): ${fixed(apiCpu / directCpu, 1)}x;`);
  console.log(`  with no idle core to run the relay on, the API can reach about ${fixed(directCpu / apiCpu, 2)} of direct`);
  console.log('  bench CPU = this process: the agent simulator serving the file and the client reading it, on both paths;');
  console.log('  machine busy = all cores, neighbours included: near 100% means the relay\'s extra copies had no idle core to run on.');
  if (invalid) console.log(`  ! ${invalid}`);
  return {
    targets: checks,
    figures: [
      { label: 'MB/s direct / API', value: `${fixed(mean(direct.map(mbps)))} / ${fixed(mean(api.map(mbps)))}` },
      { label: 'kernel RSS growth (peak)', value: `${fixed(mib(growth), 1)} MiB` },
    ],
  };
}

async function run(): Promise<BenchmarkReport> {
  const fleet: Fleet = await startInstantFleet();
  let zpack: ZpackProcess | undefined;
  let file: string | undefined;
  try {
    zpack = await startZpackOnFleet(fleet);
    const token = await signUp(zpack.url);
    const server = await createServer(zpack.url, token);
    file = path.join(fleet.agents.rootOf(server.vmid), FILE_NAME);
    await writeBigFile(file);
    step(`zpack all pid ${zpack.pid} on :${zpack.port}; ${fixed(FILE_BYTES / 1024 ** 3)} GiB written to ${file}`);
    const directUrl = `${fleet.agents.address(server.vmid)}/files/download?path=${FILE_NAME}`;
    const apiUrl = `${zpack.url}/api/servers/${server.id}/files/download?path=${FILE_NAME}`;
    const agentAuth = { authorization: `Bearer ${agentTokenOf(fleet, server.vmid)}` };
    await download(directUrl, agentAuth);
    step('warm-up download done (the file is in the page cache)');
    const direct: Download[] = [];
    const api: Download[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      direct.push(await download(directUrl, agentAuth));
      api.push(await throughApi(zpack, apiUrl, token));
      step(`round ${round}: direct ${fixed(mbps(direct.at(-1)!))} MB/s, API ${fixed(mbps(api.at(-1)!))} MB/s`);
    }
    return report(direct, api);
  } finally {
    if (file) await rm(file, { force: true });
    await zpack?.stop();
    await fleet.stop();
  }
}

export const files: Benchmark = {
  name: 'files',
  summary: `1 GiB download through GET /api/servers/:id/files/download vs direct from the agent simulator (target >= ${MIN_RATIO}), kernel RSS growth (target < ${MAX_RSS_GROWTH_MIB} MiB)`,
  run,
};
