import type { IncomingMessage } from 'node:http';
import { InvalidRequestError, ZpackError } from '../../../kernel/api';

/**
 * The hosted IDE's names, `dev-<vmid>.<devDomain>`, and the strict reading of a request's Host:
 * the kernel's host match is lenient (case, port, first of two headers), the proxy is not.
 */
export class IdeHosts {
  /** For ctx.hostRoutes and ctx.upgrade: the kernel lower-cases and drops the port before matching. */
  readonly pattern: RegExp;
  private readonly exact: RegExp;

  constructor(private readonly devDomain: string, private readonly publicPort?: number, private readonly scheme = 'https') {
    const domain = devDomain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.pattern = new RegExp(`^dev-(?<vmid>[1-9][0-9]{0,9})\\.${domain}$`);
    this.exact = new RegExp(`^dev-([1-9][0-9]{0,9})\\.${domain}(?::([0-9]{1,5}))?$`);
  }

  hostOf(vmid: number): string {
    return `dev-${vmid}.${this.devDomain}`;
  }

  /** The URL the portal opens: the bootstrap on the container's own host. */
  urlOf(vmid: number, path: string): string {
    const port = this.publicPort ? `:${this.publicPort}` : '';
    return `${this.scheme}://${this.hostOf(vmid)}${port}${path}`;
  }

  /**
   * The VMID this request is for, or 400: exactly one Host header, exactly the lower-case name, no
   * port but the one the client reached us on (or the public one), an origin-form request line.
   */
  vmidOf(req: IncomingMessage): number {
    if (!(req.url ?? '').startsWith('/')) throw new InvalidRequestError('The request line must name a path on this host, not another host');
    const hosts: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].toLowerCase() === 'host') hosts.push(req.rawHeaders[i + 1]);
    if (hosts.length !== 1) throw new InvalidRequestError('Exactly one Host header is required');
    // Behind a trusted proxy the kernel routes by X-Forwarded-Host: both must name the same host.
    const forwarded = req.headers['x-forwarded-host'];
    if (forwarded !== undefined && forwarded !== hosts[0]) throw new InvalidRequestError('X-Forwarded-Host and Host name different hosts');
    const m = this.exact.exec(hosts[0]);
    if (!m) throw new InvalidRequestError('The Host header does not name an IDE host');
    if (m[2] !== undefined && Number(m[2]) !== this.publicPort && Number(m[2]) !== req.socket.localPort) {
      throw new InvalidRequestError('The Host header names a port this IDE is not served on');
    }
    return Number(m[1]);
  }

  /** WebSockets only from the IDE's own page: the Origin must be this very host (browsers always send it). */
  checkOrigin(req: IncomingMessage, allowed: readonly string[] = []): void {
    const origin = req.headers.origin;
    if (!origin) throw new ZpackError('forbidden', 403, 'An Origin header is required to open the IDE');
    let host: string;
    try {
      const url = new URL(origin);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
      host = url.host;
    } catch {
      throw new ZpackError('forbidden', 403, `Origin ${origin} may not open the IDE`);
    }
    if (host !== req.headers.host && !allowed.includes(origin)) throw new ZpackError('forbidden', 403, `Origin ${origin} may not open the IDE`);
  }
}
