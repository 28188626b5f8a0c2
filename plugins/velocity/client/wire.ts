import { z } from 'zod';

/**
 * The bridge's HTTP API, as zpack and the simulator speak it (Bearer bridgeToken on every call):
 *   GET    /servers          → 200 {servers: [Backend]}
 *   PUT    /servers/{name}   {address, port, forcedHosts?} → 201 created | 200 updated, {server: Backend}
 *   DELETE /servers/{name}   → 204 | 404 {error: "unknown_server"}
 * Every call is idempotent (PUT upserts, DELETE of a missing name is a distinct 404), so a
 * client may repeat any of them after a timeout or a dropped connection.
 *
 * `forcedHosts` are the host names players type that the proxy routes straight to the backend
 * (Velocity's forced hosts, e.g. `mc-5001.play.example.com` → `zp-5001`). A host belongs to one
 * backend: registering it with another moves it. A PUT without the field registers none.
 */

/** Backend names the bridge accepts (Velocity server names: no spaces, no slashes). */
export const BACKEND_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A DNS name in lower case, without a trailing dot: what a proxy compares the handshake's cleaned address with. */
export const FORCED_HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** Host names one backend may claim. */
export const MAX_FORCED_HOSTS = 16;

const forcedHosts = z.array(z.string().regex(FORCED_HOST, 'must be a lower-case DNS name')).max(MAX_FORCED_HOSTS);

export const backend = z.object({
  name: z.string().regex(BACKEND_NAME),
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  // A bridge from before forced hosts answers without the field: it routes by name only.
  forcedHosts: forcedHosts.default([]),
});
/** A backend as the bridge answers it (forcedHosts always present). */
export type Backend = z.output<typeof backend>;
/** A backend as zpack registers it (forcedHosts may be left out: none). */
export type BackendInput = z.input<typeof backend>;

export const registration = z.object({ address: backend.shape.address, port: backend.shape.port, forcedHosts: forcedHosts.default([]) });

export const serverAnswer = z.object({ server: backend });
export const listAnswer = z.object({ servers: z.array(backend) });
