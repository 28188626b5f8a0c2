import type { IncomingHttpHeaders } from 'node:http';
import type { HostPattern } from '../../api';

export type HostMatcher = (host: string) => Record<string, string> | null;

/** The request's host name, lower-case and without port; behind a trusted proxy, the forwarded one (as koa reads it). */
export function hostOf(headers: IncomingHttpHeaders, trustProxy: boolean): string {
  const forwarded = trustProxy ? String(headers['x-forwarded-host'] ?? '').split(',')[0].trim() : '';
  const raw = (forwarded || headers.host || '').toLowerCase();
  if (raw.startsWith('[')) return raw.slice(0, raw.indexOf(']') + 1);
  return raw.split(':')[0];
}

/** A matcher answering null when the host does not match, else the pattern's named groups. */
export function compileHost(pattern: HostPattern): HostMatcher {
  if (typeof pattern === 'string') {
    const exact = pattern.toLowerCase();
    return (host) => (host === exact ? {} : null);
  }
  // Without g/y a RegExp keeps no state between requests.
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return (host) => {
    const m = re.exec(host);
    return m ? { ...m.groups } : null;
  };
}

export const hostLabel = (pattern: HostPattern | undefined): string => (pattern === undefined ? '*' : String(pattern));
