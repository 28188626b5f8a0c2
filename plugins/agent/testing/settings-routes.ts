import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimRoute } from './routes';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `key=value` lines of server.properties; comments and blank lines are kept when writing back. */
function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([^#=\s][^=]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1].trim()] = m[2];
  }
  return out;
}

function mergeProperties(text: string, changes: Record<string, string>): string {
  const left = new Map(Object.entries(changes));
  const lines = text.split('\n').map((line) => {
    const m = /^([^#=\s][^=]*)=/.exec(line.trim());
    const key = m?.[1].trim();
    if (!key || !left.has(key)) return line;
    const value = left.get(key)!;
    left.delete(key);
    return `${key}=${value}`;
  });
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  for (const [k, v] of left) lines.push(`${k}=${v}`);
  return `${lines.join('\n')}\n`;
}

/** The game's settings file: read as a map, written key by key (the control plane validated the values). */
export const settingsRoutes: readonly SimRoute[] = [
  {
    method: 'GET',
    path: '/settings',
    async handle({ container }) {
      const text = await readFile(join(container.disk.root, 'server.properties'), 'utf8').catch(() => '');
      return { status: 200, body: { properties: parseProperties(text) } };
    },
  },
  {
    method: 'PUT',
    path: '/settings',
    async handle({ container, body }) {
      const properties = isObject(body) && isObject(body.properties) ? body.properties : undefined;
      if (!properties || !Object.values(properties).every((v) => typeof v === 'string' && !/[\r\n]/.test(v))) {
        return { status: 400, body: { error: 'invalid_properties' } };
      }
      const file = join(container.disk.root, 'server.properties');
      const text = await readFile(file, 'utf8').catch(() => '');
      await writeFile(file, mergeProperties(text, properties as Record<string, string>));
      return { status: 200, body: { properties: parseProperties(await readFile(file, 'utf8')) } };
    },
  },
];
