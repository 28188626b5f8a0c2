import type { Context } from 'koa';

export { ETAG, IF_MATCH, IF_NONE_MATCH, jsonTag, requireMatch, conditional } from '../../api/conditional';

const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');

/**
 * A 200 GET with an ETag that the client's If-None-Match names (weak comparison, RFC 9110
 * §13.1.2) becomes a 304 without a body (koa drops it). Not koa's `ctx.fresh`: it ignores the
 * condition when the request says `Cache-Control: no-cache`, which fetch() adds to every
 * request whose If-None-Match a script set by hand — a portal would never get its 304.
 */
export function answerNotModified(ctx: Context): void {
  const tag = ctx.response.get('ETag');
  const header = ctx.get('if-none-match');
  if (ctx.status !== 200 || !tag || !header || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return;
  if (header.trim() === '*' || header.split(',').some((t) => opaque(t) === opaque(tag))) ctx.status = 304;
}
