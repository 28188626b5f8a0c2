import { Session } from 'node:inspector/promises';
import path from 'node:path';

export interface ProfileShare {
  /** Where the time went: a project folder (kernel/core/…, plugins/x), an npm package, node internals, GC or idle. */
  where: string;
  ms: number;
  share: number;
}

export interface ProfileReport {
  /** Self time per bucket, largest first. */
  self: ProfileShare[];
  /** Self time charged to the nearest project file on the stack (what our code caused, libraries included). */
  byProjectFile: ProfileShare[];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A self-time bucket for one frame: the npm package, the project folder two levels deep, or what V8 calls it. */
function bucketOf(frame: ProfileNode['callFrame'], root: string): string {
  const { url, functionName } = frame;
  if (!url) return functionName ? `(${functionName.replace(/^\(|\)$/g, '')})` : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return pkg[1];
  const rel = path.relative(root, file);
  if (rel.startsWith('..')) return file;
  return rel.split(path.sep).slice(0, rel.startsWith('dist/kernel/core') ? 4 : 3).join('/').replace(/^dist\//, '');
}

function summarise(profile: Profile, root: string): ProfileReport {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const projectFrame = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const where = bucketOf(byId.get(at)!.callFrame, root);
      if (/^(kernel|plugins|test|bench)\//.test(where)) {
        const { url, functionName } = byId.get(at)!.callFrame;
        return `${path.basename(url)} ${functionName || '(anonymous)'}`;
      }
    }
    return bucketOf(byId.get(id)!.callFrame, root);
  };
  const self = new Map<string, number>();
  const project = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  profile.samples.forEach((id, i) => {
    const ms = profile.timeDeltas[i] / 1000;
    add(self, bucketOf(byId.get(id)!.callFrame, root), ms);
    add(project, projectFrame(id), ms);
  });
  const all = [...self.values()].reduce((s, v) => s + v, 0);
  const ranked = (m: Map<string, number>) => [...m].map(([where, ms]) => ({ where, ms, share: ms / all })).sort((a, b) => b.ms - a.ms);
  return { self: ranked(self), byProjectFile: ranked(project) };
}

/**
 * Samples this process's CPU while `work` runs (the inspector's profiler, 1 ms interval) and
 * returns self time per bucket, largest first: where a slow in-process path spends its time.
 */
export async function profileSelfTime<T>(root: string, work: () => Promise<T>): Promise<{ result: T; profile: ProfileReport }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 1000 });
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
    return { result, profile: summarise(profile, root) };
  } finally {
    await session.post('Profiler.disable').catch(() => undefined);
    session.disconnect();
  }
}
