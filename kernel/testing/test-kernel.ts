import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import type { Logger } from 'pino';
import type { PluginDefinition, PortRef } from '../api';
import { deepMerge, loadConfig, type KernelConfig } from '../core/config';
import { Kernel } from '../core/kernel';
import { createDocument } from '../core/http/openapi';
import { TestClient } from './client';
import { ResponseContract } from './contract';

/** dist/ — where compiled plugins live. */
export const distRoot = path.resolve(__dirname, '..', '..');
export const projectRoot = path.resolve(distRoot, '..');

export interface TestKernelOptions {
  /** Plugin definitions offered to the loader; `config.plugins` decides which are enabled. */
  plugins?: PluginDefinition<any>[];
  /** Merged over config/default.yaml + config/test.yaml. */
  config?: Record<string, unknown>;
  /** Ports or kernel services swapped for fakes (e.g. Tokens.Clock → a FakeClock). */
  overrides?: Array<{ token: PortRef<any>; value: unknown }>;
  /** The kernel's logger (a test that reads log lines passes its own). */
  logger?: Logger;
  /** Reuse a schema / prefix (e.g. to restart a kernel on the same data). */
  schema?: string;
  prefix?: string;
}

export interface TestKernel {
  kernel: Kernel;
  config: KernelConfig;
  container: DependencyContainer;
  url: string;
  /** Requests over a real socket to the kernel's ephemeral port. */
  http: TestClient;
  /** The same requests injected into the kernel's app in-process: no socket, no port. */
  inject: TestClient;
  schema: string;
  prefix: string;
  stop(): Promise<void>;
  /** Registers and logs in a fresh user; returns a client that carries its token. */
  user(opts?: { email?: string; password?: string; role?: 'user' | 'admin' }): Promise<TestUser>;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  http: TestClient;
}

const OPERATOR_ENV = ['PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'ZPACK_ROLE'];

/** Test configuration: default.yaml ← test.yaml ← the test's own config, own schema and Redis prefix. */
export function testConfig(extra: Record<string, unknown> = {}, schema?: string, prefix?: string): KernelConfig {
  const env: NodeJS.ProcessEnv = { ...process.env, ZPACK_CONFIG: 'config/test.yaml' };
  for (const k of OPERATOR_ENV) delete env[k];
  const id = randomBytes(5).toString('hex');
  const own = { database: { schema: schema ?? `t_${id}` }, redis: { prefix: prefix ?? `zt-${id}` } };
  return loadConfig({ root: projectRoot, env, overrides: deepMerge(own, extra) });
}

/** Boots a real kernel on an ephemeral port against the real Postgres (own schema) and Redis (own prefix). */
export async function startTestKernel(opts: TestKernelOptions = {}): Promise<TestKernel> {
  const config = testConfig(opts.config, opts.schema, opts.prefix);
  const kernel = new Kernel({ config, distRoot, plugins: opts.plugins, overrides: opts.overrides, logger: opts.logger, processMetrics: false });
  try {
    await kernel.start();
  } catch (err) {
    await kernel.stop().catch(() => undefined);
    throw err;
  }
  const url = `http://127.0.0.1:${kernel.port}`;
  // Every answer a test receives is held to the document this kernel publishes.
  const contract = new ResponseContract(createDocument(kernel.router));
  const http = new TestClient(url, undefined, undefined, contract);
  const injected = kernel.requestListener
    ? TestClient.inProcess(kernel.requestListener, undefined, contract)
    : new TestClient(url, undefined, () => Promise.reject(new Error(`role ${config.role} serves no HTTP: nothing to inject into`)));
  let n = 0;
  return {
    kernel, config, container: kernel.container, url, http, inject: injected,
    schema: config.database.schema, prefix: config.redis.prefix,
    stop: () => kernel.stop(),
    async user({ email, password = 'correct-horse-battery', role = 'user' } = {}) {
      const addr = email ?? `user${++n}-${randomBytes(3).toString('hex')}@example.test`;
      const account = await kernel.auth.register(addr, password, role);
      const login = await http.post('/api/auth/login', { email: addr, password });
      if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
      return {
        id: account.id, email: addr, password,
        accessToken: login.body.accessToken, refreshToken: login.body.refreshToken,
        http: http.as(login.body.accessToken),
      };
    },
  };
}

/**
 * Mocha before/after hooks that boot a test kernel for the enclosing describe; the returned
 * object is filled in once `before` has run. `options` may be a function, read in `before`,
 * for what only exists by then (a simulator's URL).
 */
export function useTestKernel(options: TestKernelOptions | (() => TestKernelOptions | Promise<TestKernelOptions>) = {}): { tk: TestKernel } {
  const env = {} as { tk: TestKernel };
  before(async () => {
    env.tk = await startTestKernel(typeof options === 'function' ? await options() : options);
  });
  after(async () => {
    await env.tk?.stop();
  });
  return env;
}
