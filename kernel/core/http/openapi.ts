import { OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { KernelRouter } from './router';

export function createDocument(router: KernelRouter): unknown {
  return new OpenApiGeneratorV31(router.openapi.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'zpack API', version: '1' },
  });
}
