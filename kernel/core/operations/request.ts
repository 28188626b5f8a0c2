import { createHash } from 'node:crypto';
import { z, type ZodType } from 'zod';
import { BootError, InvalidRequestError } from '../../api';
import type { InstanceType } from '../../api';
import { MAX_JSON_DEPTH } from '../http/body';

const name = z.string().trim().min(1).max(40).regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]*$/, 'letters, digits, space, _ . - only');

/** A create request as validated: `options` already parsed by its type's own schema. */
export interface CreateInstanceBody {
  kind: string;
  type: string;
  name: string;
  options: Record<string, unknown>;
}

/**
 * The create body, one variant per enabled type (`type` discriminates, `kind` must be the type's):
 * each type's `optionsSchema` validates `options`, so OpenAPI shows every type's options and the
 * kernel names none of them. An unknown type is a 400 listing the enabled ones.
 */
export function createInstanceBody(types: readonly InstanceType[]): ZodType<CreateInstanceBody> {
  const seen = new Set<string>();
  for (const t of types) {
    if (seen.has(t.type)) throw new BootError(`instance type "${t.type}" is provided twice; enable only one`);
    seen.add(t.type);
  }
  const enabled = types.map((t) => t.type).sort().join(', ') || 'none';
  const variants = types.map((t) => z.object({
    kind: z.literal(t.kind),
    type: z.literal(t.type),
    name,
    options: t.optionsSchema.prefault({}),
  }).strict());
  if (!variants.length) {
    return z.object({ type: z.string().refine(() => false, 'no instance types are enabled') }) as unknown as ZodType<CreateInstanceBody>;
  }
  return z.discriminatedUnion('type', variants as [typeof variants[0], ...typeof variants], {
    error: (issue) => (issue.code === 'invalid_union' ? `enabled types: ${enabled}` : undefined),
  }) as unknown as ZodType<CreateInstanceBody>;
}

export { idempotencyKey } from '../../api';

/** Hash of the request as validated, with keys sorted: the same body in any key order hashes alike. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonical(body, 0)).digest('hex');
}

/** Recursive, so bounded: the body parser already refuses deeper input; this holds for any caller. */
function canonical(v: unknown, depth: number): string {
  if (depth > MAX_JSON_DEPTH) throw new InvalidRequestError(`Request nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x, depth + 1)).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as any)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k], depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
