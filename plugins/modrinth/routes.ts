import { z } from 'zod';
import { InvalidRequestError, ModCatalog } from '../../kernel/api';
import type { ApiRouter, ModSearchHit, PluginContext } from '../../kernel/api';

const slugish = z.string().regex(/^[a-z0-9._-]{1,32}$/, 'lower-case letters, digits, dots and dashes');

/** An opaque cursor holding the catalog offset of the next page. */
const cursor = z.string().max(64).transform((text, ctx) => {
  const offset = /^[A-Za-z0-9_-]+$/.test(text) ? Number(Buffer.from(text, 'base64url').toString('utf8').replace(/^o:/, '')) : NaN;
  if (Number.isInteger(offset) && offset >= 0 && offset <= 10_000) return offset;
  ctx.addIssue({ code: 'custom', message: 'is not a cursor this API issued' });
  return z.NEVER;
});
const cursorOf = (offset: number): string => Buffer.from(`o:${offset}`).toString('base64url');
/** The most hits Modrinth answers in one search; a larger `limit` gets a page this long and a cursor to the rest. */
const CATALOG_PAGE = 100;

const side = z.enum(['required', 'optional', 'unsupported', 'unknown']);
export const catalogProjectSchema = z.object({
  projectId: z.string(),
  slug: z.string(),
  title: z.string(),
  description: z.string(),
  projectType: z.enum(['mod', 'plugin', 'modpack', 'resourcepack', 'shader', 'datapack']),
  categories: z.array(z.string()),
  gameVersions: z.array(z.string()),
  downloads: z.number().int(),
  iconUrl: z.string().nullable(),
  serverSide: side,
  clientSide: side,
  latestVersion: z.string().nullable(),
  updatedAt: z.string(),
  source: z.string().meta({ description: 'The catalog it comes from, e.g. `modrinth`' }),
}).meta({ id: 'CatalogProject' });

/** A hit as the API answers it, its fields named one by one (a spread per hit cost more than the rest of the mapping). */
const projectOf = (h: ModSearchHit, source: string) => ({
  projectId: h.projectId, slug: h.slug, title: h.title, description: h.description, projectType: h.projectType, categories: h.categories,
  gameVersions: h.gameVersions, downloads: h.downloads, iconUrl: h.iconUrl, serverSide: h.serverSide, clientSide: h.clientSide,
  latestVersion: h.latestVersion, updatedAt: h.updatedAt, source,
});

export function catalogRoutes(r: ApiRouter, ctx: PluginContext<unknown>): void {
  r.route({
    method: 'get', path: '/api/mods/search', operationId: 'searchMods', tags: ['mods'], auth: 'user',
    summary: 'Search the mod catalog (loader, game version, category and type facets)',
    description: 'Answers from a shared cache of the catalog when it can; when the catalog is rate-limiting or down, 503 with Retry-After.',
    query: z.object({
      q: z.string().max(200).optional().meta({ description: 'Free text' }),
      loader: slugish.optional().meta({ description: 'fabric, forge, neoforge, quilt, paper, spigot, bukkit …' }),
      gameVersion: z.string().regex(/^\d+\.\d+(\.\d+)?$/).optional(),
      category: slugish.optional(),
      type: z.enum(['mod', 'plugin', 'modpack']).optional(),
      // API.md's page size for every list; the catalog's own page is shorter, and nextCursor carries on from where it stopped.
      limit: z.coerce.number().int().min(1).max(200).default(50).meta({ description: `Items per page, at most ${CATALOG_PAGE} at a time from the catalog (nextCursor continues)` }),
      cursor: cursor.optional().meta({ description: 'The nextCursor of the previous page; absent for the first page' }),
    }),
    responses: {
      200: z.object({
        projects: z.array(catalogProjectSchema),
        totalHits: z.number().int(),
        nextCursor: z.string().nullable().meta({ description: 'Pass as cursor to get the next page; null on the last page' }),
      }),
    },
    errors: [502, 503],
    handler: async ({ query }) => {
      const catalog = ctx.resolve(ModCatalog);
      const offset = query.cursor ?? 0;
      const limit = Math.min(query.limit, CATALOG_PAGE);
      if (offset + limit > 10_000) throw new InvalidRequestError('Invalid query', { fields: [{ path: 'query.cursor', message: 'goes past the last page the catalog serves' }] });
      const res = await catalog.search({
        query: query.q, loaders: query.loader ? [query.loader] : undefined, gameVersions: query.gameVersion ? [query.gameVersion] : undefined,
        categories: query.category ? [query.category] : undefined, projectTypes: query.type ? [query.type] : undefined, offset, limit,
      });
      const next = res.offset + res.hits.length;
      return {
        body: {
          projects: res.hits.map((h) => projectOf(h, catalog.source)),
          totalHits: res.totalHits,
          nextCursor: res.hits.length > 0 && next < res.totalHits ? cursorOf(next) : null,
        },
      };
    },
  });
}
