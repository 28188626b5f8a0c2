import { z } from 'zod';

/** Modrinth v2 shapes, as much of them as zpack reads; anything more is passed over. */
const side = z.enum(['required', 'optional', 'unsupported', 'unknown']).catch('unknown');

export const wireFile = z.object({
  hashes: z.object({ sha512: z.string(), sha1: z.string() }),
  url: z.url(),
  filename: z.string(),
  primary: z.boolean(),
  size: z.number().int().nonnegative(),
});

export const wireVersion = z.object({
  id: z.string(),
  project_id: z.string(),
  name: z.string(),
  version_number: z.string(),
  dependencies: z.array(z.object({
    version_id: z.string().nullable().optional(),
    project_id: z.string().nullable().optional(),
    dependency_type: z.enum(['required', 'optional', 'incompatible', 'embedded']),
  })),
  game_versions: z.array(z.string()),
  version_type: z.enum(['release', 'beta', 'alpha']),
  loaders: z.array(z.string()),
  date_published: z.string(),
  files: z.array(wireFile),
});

export const wireProject = z.object({
  id: z.string(),
  slug: z.string(),
  project_type: z.string(),
  title: z.string(),
  description: z.string(),
  categories: z.array(z.string()),
  client_side: side,
  server_side: side,
  game_versions: z.array(z.string()),
  loaders: z.array(z.string()),
  versions: z.array(z.string()),
  updated: z.string(),
});

export const wireSearch = z.object({
  hits: z.array(z.object({
    project_id: z.string(),
    project_type: z.string(),
    slug: z.string(),
    title: z.string(),
    description: z.string(),
    categories: z.array(z.string()),
    versions: z.array(z.string()),
    downloads: z.number(),
    icon_url: z.string().nullable().optional(),
    client_side: side,
    server_side: side,
    latest_version: z.string().nullable().optional(),
    date_modified: z.string(),
  })),
  offset: z.number().int(),
  limit: z.number().int(),
  total_hits: z.number().int(),
});

export type WireVersion = z.infer<typeof wireVersion>;
export type WireProject = z.infer<typeof wireProject>;
export type WireSearch = z.infer<typeof wireSearch>;
