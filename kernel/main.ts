#!/usr/bin/env node
import 'reflect-metadata';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { BootError, ConflictError } from './api';
import { loadConfig, type KernelConfig } from './core/config';
import { startEmbedded, type EmbeddedServices } from './core/embedded';
import { Kernel } from './core/kernel';
import { createLogger } from './core/logger';
import { drainOnce, installProcessGuards } from './core/process-guards';
import { ROLES, type Role } from './core/roles';
import { Account } from './core/entities';

const distRoot = path.resolve(__dirname, '..');
const root = path.resolve(distRoot, '..');

const USAGE = `usage: zpack [role]            run a role: ${ROLES.join(', ')} (default: all, or $ZPACK_ROLE)
       zpack migrate             apply database migrations and exit
       zpack create-admin --email E [--password P]   create (or promote) an admin account`;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { email: { type: 'string' }, password: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void console.log(USAGE);
  const command = positionals[0] ?? process.env.ZPACK_ROLE ?? 'all';
  const oneShot = command === 'migrate' || command === 'create-admin';
  if (!oneShot && !ROLES.includes(command as Role)) throw new BootError(`unknown command "${command}"\n${USAGE}`);
  if (command === 'create-admin' && !values.email) throw new BootError(`create-admin needs --email\n${USAGE}`);
  const config = loadConfig({ root });
  if (config.simulators.stateDir) config.simulators.stateDir = path.resolve(root, config.simulators.stateDir);
  const logger = createLogger(config.logging.level);
  const embedded = await startEmbedded(config, root, logger);
  try {
    if (command === 'migrate') return await migrate(config, logger);
    if (command === 'create-admin') return await createAdmin(config, logger, values.email!, values.password);
    config.role = command as Role;
    await serve(config, embedded);
  } catch (err) {
    await embedded.stop().catch(() => undefined);
    throw err;
  } finally {
    if (oneShot) await embedded.stop();
  }
}

async function serve(config: KernelConfig, embedded: EmbeddedServices): Promise<void> {
  const kernel = new Kernel({ config, distRoot });
  let stopping = false;
  const drain = drainOnce(async () => {
    stopping = true;
    await kernel.stop();
    await embedded.stop();
    kernel.logger.info('stopped');
  }, (code) => process.exit(code), kernel.logger);
  process.on('SIGTERM', () => void drain('SIGTERM', 0));
  process.on('SIGINT', () => void drain('SIGINT', 0));
  installProcessGuards(kernel.logger, drain);
  try {
    await kernel.start();
  } catch (err) {
    // A signal during boot stops the kernel under start(): the drain exits, this failure is its doing.
    if (stopping) return;
    await kernel.stop().catch(() => undefined);
    throw err;
  }
  if (kernel.port) {
    const url = `http://${config.server.host}:${kernel.port}`;
    console.log(`\nzpack (${config.role}) is listening on ${url}\n` +
      `  register: curl -s ${url}/api/auth/register -H 'content-type: application/json' -d '{"email":"you@example.com","password":"a-long-password"}'\n` +
      `  log in:   curl -s ${url}/api/auth/login    -H 'content-type: application/json' -d '{"email":"you@example.com","password":"a-long-password"}'\n` +
      `  admin:    npm run zpack -- create-admin --email admin@example.com\n` +
      `  API:      ${url}/api/openapi.json   health: ${url}/readyz\n` +
      (embedded.postgres ? `  data:     PostgreSQL in ${embedded.postgres.dataDir} (127.0.0.1:${embedded.postgres.port})\n` : '') +
      (config.simulators.stateDir ? `  simulated world: ${config.simulators.stateDir} (type \`crash\` at a server's console to watch supervision)\n` : ''));
  }
}

/** Boot registers every enabled plugin and applies kernel and plugin migrations. */
async function migrate(config: KernelConfig, logger: ReturnType<typeof createLogger>): Promise<void> {
  const kernel = new Kernel({ config, distRoot, logger });
  await kernel.boot();
  await kernel.stop();
  console.log('database is up to date');
}

async function createAdmin(config: KernelConfig, logger: ReturnType<typeof createLogger>, email: string, password?: string): Promise<void> {
  const kernel = new Kernel({ config, distRoot, logger });
  await kernel.boot();
  try {
    const generated = !password;
    const pw = password ?? randomBytes(12).toString('base64url');
    try {
      await kernel.auth.register(email, pw, 'admin');
      console.log(`admin ${email} created${generated ? ` with password ${pw}` : ''}`);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      await kernel.ds.getRepository(Account).update({ email: email.trim().toLowerCase() }, { role: 'admin' });
      console.log(`${email} already existed and is now an admin (password unchanged)`);
    }
  } finally {
    await kernel.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof BootError ? `zpack: ${err.message} (${err.code})` : err);
  process.exit(1);
});
