import { backupRoutes } from './backup-routes';
import { fileRoutes } from './file-routes';
import { fileOpRoutes } from './file-ops-routes';
import { settingsRoutes } from './settings-routes';
import { devRoutes, lifecycleRoutes, type SimRoute } from './routes';
import { stagingRoutes } from './staging-routes';

export interface RouteMatch {
  route: SimRoute;
  params: Record<string, string>;
}

interface CompiledRoute {
  route: SimRoute;
  pattern: RegExp;
}

/** The agent's whole wire contract (API.md, "What the control plane expects of the in-container agent"). */
export const agentRoutes: readonly SimRoute[] = [...lifecycleRoutes, ...devRoutes, ...fileRoutes, ...fileOpRoutes, ...backupRoutes, ...settingsRoutes, ...stagingRoutes];

/** Matches a method and a path under /ct/{vmid} to a route; literal routes win over `:param` ones. */
export class SimRouter {
  private readonly compiled: CompiledRoute[];

  constructor(routes: readonly SimRoute[] = agentRoutes) {
    const literalFirst = [...routes].sort((a, b) => Number(a.path.includes(':')) - Number(b.path.includes(':')));
    this.compiled = literalFirst.map((route) => ({
      route,
      pattern: new RegExp(`^${route.path.replace(/:(\w+)/g, '(?<$1>[^/]+)')}$`),
    }));
  }

  match(method: string, path: string): RouteMatch | undefined {
    for (const { route, pattern } of this.compiled) {
      if (route.method !== method) continue;
      const found = pattern.exec(path);
      if (!found) continue;
      const params = Object.fromEntries(Object.entries(found.groups ?? {}).map(([k, v]) => [k, safeDecode(v)]));
      return { route, params };
    }
    return undefined;
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
