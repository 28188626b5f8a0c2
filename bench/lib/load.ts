import autocannon from 'autocannon';
import { processCpuMs } from './process-cpu';

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** The server's pid, to report the CPU it spent per request. */
  serverPid?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** Connection errors, timeouts included. */
  errors: number;
  /** Server CPU per answered request (µs), when the server's pid was given and /proc is readable. */
  serverCpuUsPerRequest?: number;
  /** Share of one core the server used; well below 1 means the load generator, not the server, set the pace. */
  serverBusy?: number;
}

/** Keeps `connections` keep-alive connections busy for `seconds` against one URL. */
export async function load(opts: LoadOptions): Promise<LoadResult> {
  const cpuBefore = opts.serverPid ? processCpuMs(opts.serverPid) : undefined;
  const r = await autocannon({ url: opts.url, connections: opts.connections, duration: opts.seconds, headers: opts.headers });
  const cpuAfter = opts.serverPid ? processCpuMs(opts.serverPid) : undefined;
  const cpuMs = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  return {
    requestsPerSecond: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    serverCpuUsPerRequest: cpuMs !== undefined && r.requests.total ? (cpuMs * 1000) / r.requests.total : undefined,
    serverBusy: cpuMs !== undefined ? cpuMs / (r.duration * 1000) : undefined,
  };
}

/** A short untimed run first, so the JIT, pools and caches are warm when the measured run starts. */
export async function warmThenLoad(opts: LoadOptions & { warmupSeconds: number }): Promise<LoadResult> {
  await load({ ...opts, seconds: opts.warmupSeconds });
  return load(opts);
}
