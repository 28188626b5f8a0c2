import type { Context } from 'koa';
import type { Logger } from 'pino';
import { BootError } from '../../api';
import type { HostPattern, HostRequest, HostRouteHandler, RawRouteHandler, RawRouteMatch } from '../../api';
import { compileHost, hostLabel, type HostMatcher } from '../upgrades/hosts';
import type { RawRoute } from './raw-routes';

interface HostRoute {
  label: string;
  matches: HostMatcher;
  handler: HostRouteHandler;
}

interface PrefixRoute {
  label: string;
  prefix: string;
  handler: HostRouteHandler;
}

/**
 * Plain HTTP by Host (an IDE proxy's `dev-<vmid>.<devDomain>`): a request whose Host matches is
 * the plugin's, every method and path, inside the usual request-id, envelope and metrics.
 */
export class HostRoutes {
  private readonly routes: HostRoute[] = [];
  private readonly prefixes: PrefixRoute[] = [];
  /** Taken before koa (see raw-routes.ts), host routes first. */
  readonly raw: RawRoute[] = [];
  private readonly owners = new Map<string, string>();

  add(owner: string, host: HostPattern, handler: HostRouteHandler): void {
    this.routes.push({ label: this.claim(owner, host), matches: compileHost(host), handler });
  }

  /** A path prefix (`/__ide`) served whole, whatever the Host: a proxy's compatibility path. */
  addPrefix(owner: string, prefix: string, handler: HostRouteHandler): void {
    this.prefixes.push({ label: this.claimPrefix(owner, prefix), prefix, handler });
  }

  addRaw(owner: string, match: RawRouteMatch, handler: RawRouteHandler): void {
    if ((match.host === undefined) === (match.prefix === undefined)) throw new BootError(`plugin "${owner}" declares a raw route with neither or both of host and prefix`);
    const route: RawRoute = match.host !== undefined
      ? { label: this.claim(owner, match.host), host: compileHost(match.host), handler }
      : { label: this.claimPrefix(owner, match.prefix!), prefix: match.prefix, handler };
    // Host routes are tried first, as in the koa middleware below.
    if (route.host) this.raw.splice(this.raw.filter((r) => r.host).length, 0, route);
    else this.raw.push(route);
  }

  /** One owner per host pattern, raw or not; answers the metrics label. */
  private claim(owner: string, host: HostPattern): string {
    const label = hostLabel(host);
    const prior = this.owners.get(label);
    if (prior) throw new BootError(`host route ${label} is declared by both "${prior}" and "${owner}"`);
    this.owners.set(label, owner);
    return `host ${label}`;
  }

  private claimPrefix(owner: string, prefix: string): string {
    if (!/^\/[A-Za-z0-9_.~-]+(\/[A-Za-z0-9_.~-]+)*$/.test(prefix) || prefix.startsWith('/api')) {
      throw new BootError(`plugin "${owner}" declares path route "${prefix}": a plain path outside /api is required`);
    }
    const label = `path ${prefix}`;
    const prior = this.owners.get(label);
    if (prior) throw new BootError(`${label} is declared by both "${prior}" and "${owner}"`);
    this.owners.set(label, owner);
    return label;
  }

  middleware() {
    return (ctx: Context, next: () => Promise<unknown>) => {
      for (const route of this.routes) {
        const params = route.matches(ctx.hostname.toLowerCase());
        if (!params) continue;
        ctx._matchedRoute = route.label;
        return route.handler(new HostRequestContext(ctx, params));
      }
      for (const route of this.prefixes) {
        const path = ctx.path;
        if (path !== route.prefix && !path.startsWith(`${route.prefix}/`)) continue;
        ctx._matchedRoute = route.label;
        return route.handler(new HostRequestContext(ctx, { rest: path.slice(route.prefix.length) }));
      }
      return next();
    };
  }
}

class HostRequestContext implements HostRequest {
  constructor(readonly koa: Context, readonly params: Record<string, string>) {}
  get requestId(): string {
    return this.koa.state.requestId;
  }
  get logger(): Logger {
    return this.koa.state.log;
  }
}
