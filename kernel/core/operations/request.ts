import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidRequestError } from '../../api';
import { MAX_JSON_DEPTH } from '../http/body';

const name = z.string().trim().min(1).max(40).regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]*$/, 'letters, digits, space, _ . - only');

export const createInstanceBody = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('game'),
    type: z.string().min(1).max(40),
    name,
    options: z.record(z.string(), z.unknown()).default({}),
  }).strict(),
  z.object({
    kind: z.literal('dev'),
    type: z.string().min(1).max(40).optional(),
    name,
    runtime: z.string().min(1).max(40),
    version: z.string().min(1).max(40),
    enableCodeServer: z.boolean().default(false),
  }).strict(),
]);
export type CreateInstanceBody = z.infer<typeof createInstanceBody>;

export const idempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

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
