import path from 'node:path';
import { defineConfig } from 'vite';

// The operator console: built into dist/web/admin and served by the api role at /admin.
export default defineConfig({
  root: import.meta.dirname,
  base: '/admin/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(import.meta.dirname, '../../dist/web/admin'),
    emptyOutDir: true,
    target: 'es2022',
    // The terminal is only needed on a server page: its own chunk, loaded when the console opens.
    chunkSizeWarningLimit: 400,
  },
});
