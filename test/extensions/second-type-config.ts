import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { deepMerge } from '../../kernel/core/config';
import { projectRoot } from '../harness';

/** The fixture's own zpack.yaml (which enables the `beacon` type by module path), with `extra` merged over it. */
export function secondTypeConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const file = path.join(projectRoot, 'test', 'fixtures', 'second-type', 'zpack.yaml');
  return deepMerge(parse(readFileSync(file, 'utf8')), extra);
}

/** Beacon options for the plugin's entry in a config, e.g. `{ label: 'a' }`. */
export const beaconOptions = (options: Record<string, unknown>) => ({ plugins: { beacon: { options } } });

export const beaconBody = (name = 'Lighthouse', options: Record<string, unknown> = { channel: 'north' }) =>
  ({ kind: 'custom', type: 'beacon', name, options });
