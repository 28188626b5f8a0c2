export interface ZpackMemory {
  heapUsedBytes: number;
  /** Memory of C++ objects bound to JS (Buffers, socket buffers) as V8 reports it. */
  externalBytes: number;
}

/** Heap and external memory a zpack process reports on /metrics (prom-client's default metrics), asked as Prometheus would. */
export async function zpackMemory(zpack: { url: string; metricsToken: string }): Promise<ZpackMemory> {
  const baseUrl = zpack.url;
  const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${zpack.metricsToken}` }, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${baseUrl}/metrics answered ${res.status}: ${text.slice(0, 200)}`);
  const metric = (name: string) => {
    const match = new RegExp(`^zpack_${name} (\\S+)`, 'm').exec(text);
    if (!match) throw new Error(`zpack_${name} is missing from ${baseUrl}/metrics`);
    return Number(match[1]);
  };
  return { heapUsedBytes: metric('nodejs_heap_size_used_bytes'), externalBytes: metric('nodejs_external_memory_bytes') };
}
