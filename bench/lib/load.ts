import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** Connection errors, timeouts included. */
  errors: number;
}

/** Keeps `connections` keep-alive connections busy for `seconds` against one URL. */
export async function load(opts: LoadOptions): Promise<LoadResult> {
  const r = await autocannon({ url: opts.url, connections: opts.connections, duration: opts.seconds, headers: opts.headers });
  return {
    requestsPerSecond: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

/** A short untimed run first, so the JIT, pools and caches are warm when the measured run starts. */
export async function warmThenLoad(opts: LoadOptions & { warmupSeconds: number }): Promise<LoadResult> {
  await load({ ...opts, seconds: opts.warmupSeconds });
  return load(opts);
}
