import { OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { KERNEL_API_VERSION } from '../../api';
import type { KernelRouter } from './router';

/** What the kernel's own tags group; a plugin's tags are described by the plugin that uses them. */
const KERNEL_TAGS: Record<string, string> = {
  auth: 'Accounts: register, log in, refresh, log out, reset a password',
  accounts: 'The caller\'s own account, quota and billing state',
  instances: 'Game servers and dev containers: create, list, status, power, crashes, delete; their operations',
  console: 'The server console: a ticket, then a WebSocket',
  files: 'A server\'s files (canonical /api/servers/… and compatibility /api/game/servers/…)',
  backups: 'World backups and restores',
  agent: 'Callbacks from the in-container agent (agent token)',
  admin: 'Operator views and changes (admin role)',
  health: 'Liveness, readiness, metrics and this document',
};

const DESCRIPTION = [
  'The contract portals and other clients build on. Every failure is the `Error` envelope',
  '`{ error: { code, message, details, requestId } }`; every answer carries `X-Request-Id`.',
  'Create calls take an `Idempotency-Key`; long work answers 202 with an operation to poll.',
].join(' ');

export function createDocument(router: KernelRouter): Record<string, unknown> {
  const document = new OpenApiGeneratorV31(router.openapi.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'zpack API',
      version: KERNEL_API_VERSION,
      description: DESCRIPTION,
      license: { name: 'UNLICENSED', identifier: 'LicenseRef-UNLICENSED' },
    },
    servers: [{ url: '/', description: 'The zpack server that serves this document' }],
  });
  return { ...document, tags: tagsOf((document.paths ?? {}) as Record<string, Record<string, { tags?: string[] }>>) };
}

/** Every tag an operation uses, once, in first-use order, with its description. */
function tagsOf(paths: Record<string, Record<string, { tags?: string[] }>>): Array<{ name: string; description: string }> {
  const names = new Set<string>();
  for (const item of Object.values(paths)) for (const op of Object.values(item)) for (const tag of op.tags ?? []) names.add(tag);
  return [...names].map((name) => ({ name, description: KERNEL_TAGS[name] ?? `Routes of the ${name} plugin` }));
}
