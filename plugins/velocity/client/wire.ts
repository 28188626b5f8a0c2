import { z } from 'zod';

/**
 * The bridge's HTTP API, as zpack and the simulator speak it (Bearer bridgeToken on every call):
 *   GET    /servers          → 200 {servers: [Backend]}
 *   PUT    /servers/{name}   {address, port} → 201 created | 200 updated, {server: Backend}
 *   DELETE /servers/{name}   → 204 | 404 {error: "unknown_server"}
 * Every call is idempotent (PUT upserts, DELETE of a missing name is a distinct 404), so a
 * client may repeat any of them after a timeout or a dropped connection.
 */

/** Backend names the bridge accepts (Velocity server names: no spaces, no slashes). */
export const BACKEND_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const backend = z.object({
  name: z.string().regex(BACKEND_NAME),
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});
export type Backend = z.infer<typeof backend>;

export const registration = z.object({ address: backend.shape.address, port: backend.shape.port });

export const serverAnswer = z.object({ server: backend });
export const listAnswer = z.object({ servers: z.array(backend) });
