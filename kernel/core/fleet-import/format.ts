import { z } from 'zod';

/**
 * `zpack import` reads this: the fleet of the system being replaced, as its operator exports it.
 * Versioned; a file of another format or version is refused before anything is written. The
 * JSON Schema published at docs/fleet-import.schema.json is generated from it.
 */
const ref = z.string().min(1).max(200).meta({ description: 'The row\'s id in the old system; reports name rows by it' });
const when = z.iso.datetime({ offset: true }).meta({ description: 'ISO-8601' });

export const PASSWORD_ALGORITHMS = ['bcrypt', 'argon2id', 'argon2i'] as const;

/** Loose on purpose where rows may be wrong: each row is checked on its own and refused alone. */
export const fleetAccount = z.object({
  ref,
  email: z.string().min(3).max(254),
  role: z.enum(['user', 'admin']).default('user'),
  password: z.object({
    algorithm: z.string().meta({ description: `One of ${PASSWORD_ALGORITHMS.join(', ')}; another is refused` }),
    hash: z.string().max(512).meta({ description: 'The stored hash as the old system kept it ($2b$… for bcrypt, $argon2id$… for argon2)' }),
  }),
  billingExempt: z.boolean().default(false),
  quota: z.object({ maxInstances: z.number().int().min(0).max(10_000) }).optional(),
  billing: z.record(z.string(), z.unknown()).optional()
    .meta({ description: 'Handed as is to the enabled billing plugin, which checks it (its README gives the shape); without one it is reported as not imported' }),
  createdAt: when.optional(),
}).meta({ id: 'FleetAccount' });

export const fleetPort = z.object({
  name: z.string().min(1).max(40),
  port: z.number().int(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});

export const fleetServer = z.object({
  ref,
  owner: z.string().min(1).meta({ description: 'The `ref` of an account in this file' }),
  kind: z.string().min(1).max(40).default('game'),
  type: z.string().min(1).max(40),
  name: z.string().min(1).max(40),
  options: z.record(z.string(), z.unknown()).default({}),
  vmid: z.number().int(),
  node: z.string().min(1).max(63),
  ports: z.array(fleetPort).max(16).default([]),
  /** As the old system last saw it; adoption checks it against the container. */
  state: z.enum(['running', 'stopped']).default('running'),
  agentToken: z.string().min(16).max(512).optional().meta({
    description: 'The token its agent accepts, when the agent predates zpack\'s tokens: kept only until an operator-approved repair gives the agent zpack\'s token',
  }),
  createdAt: when.optional(),
}).meta({ id: 'FleetServer' });

export const fleetDevContainer = fleetServer.omit({ kind: true, options: true }).extend({
  type: z.string().min(1).max(40).meta({ description: 'The enabled dev type that takes it' }),
  runtime: z.string().min(1).max(40),
  version: z.string().min(1).max(40),
  options: z.record(z.string(), z.unknown()).default({}),
}).meta({ id: 'FleetDevContainer' });

export const fleetFile = z.object({
  format: z.literal('zpack.fleet').meta({ description: 'Always "zpack.fleet"' }),
  version: z.literal(1),
  source: z.string().max(100).optional().meta({ description: 'The system exported, for the report' }),
  exportedAt: when.optional(),
  accounts: z.array(fleetAccount).max(200_000),
  servers: z.array(fleetServer).max(200_000).default([]),
  devContainers: z.array(fleetDevContainer).max(200_000).default([]),
}).meta({ id: 'FleetFile', title: 'zpack fleet import, version 1' });

export type FleetFile = z.infer<typeof fleetFile>;
export type FleetAccount = z.infer<typeof fleetAccount>;
export type FleetServer = z.infer<typeof fleetServer>;
export type FleetDevContainer = z.infer<typeof fleetDevContainer>;

/** The published JSON Schema (docs/fleet-import.schema.json is this, written by `zpack import --schema`). */
export function fleetJsonSchema(): unknown {
  return z.toJSONSchema(fleetFile, { io: 'input', target: 'draft-2020-12' });
}
