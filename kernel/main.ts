#!/usr/bin/env node
import 'reflect-metadata';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { BootError, ConflictError, ZpackError } from './api';
import { commandArgs } from './core/cli-args';
import { loadConfig, type KernelConfig } from './core/config';
import { startEmbedded, type EmbeddedServices } from './core/embedded';
import { Kernel } from './core/kernel';
import { createLogger } from './core/logger';
import { drainOnce, installProcessGuards } from './core/process-guards';
import { Account } from './core/entities';
import { IMPORT_USAGE, importArgs, importCommand } from './core/fleet-import/command';
import { findingsTable } from './core/controller';

const distRoot = path.resolve(__dirname, '..');
const root = path.resolve(distRoot, '..');

const KERNEL_USAGE = `usage: zpack [role]            run a process role (default: role: in config, or $ZPACK_ROLE)
       zpack migrate             apply database migrations and exit
       zpack create-admin --email E [--password P]   create (or promote) an admin account
       ${IMPORT_USAGE}
       zpack controller --once --dry-run   print one reconcile pass's findings as a table; changes nothing
       zpack <command> [args…]   a command of an enabled plugin
       zpack help                list the roles and commands of the enabled plugins`;

/** Roles and commands come from the registry: the enabled plugins add theirs. */
function usage(kernel: Kernel): string {
  const rows = (items: Array<{ name: string; summary: string }>) => items.map((i) => `  ${i.name.padEnd(22)} ${i.summary}`).join('\n');
  const commands = kernel.extensions.commands.list().map((c) => ({ name: c.name, summary: `${c.command.summary} (${c.plugin})` }));
  return `${KERNEL_USAGE}\n\nroles:\n${rows(kernel.extensions.roles.list())}\n\ncommands:\n${commands.length ? rows(commands) : '  (no enabled plugin adds one)'}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const named = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  const config = loadConfig({ root });
  if (config.simulators.stateDir) config.simulators.stateDir = path.resolve(root, config.simulators.stateDir);
  const command = named ?? (argv.some((a) => a === '-h' || a === '--help') ? 'help' : config.role);
  if (command === 'migrate' || command === 'create-admin') return oneShot(command, argv.slice(1), config);
  config.role = command;
  const kernel = new Kernel({ config, distRoot });
  kernel.register();
  if (command === 'help') return void console.log(usage(kernel));
  if (command === 'import') {
    importArgs(argv.slice(1));
    return kernelCommand(kernel, (k) => importCommand(k, argv.slice(1)));
  }
  const pluginCommand = kernel.extensions.commands.get(command);
  // A role named on the command line must exist; one from config or ZPACK_ROLE is checked by start() (unknown_role).
  if (!pluginCommand && named && !kernel.extensions.roles.has(command)) throw new BootError(`unknown command "${command}"\n${usage(kernel)}`, 'unknown_command');
  if (command === 'controller' && argv.includes('--once')) return controllerOnce(kernel, argv.slice(1));
  const embedded = await startEmbedded(config, root, kernel.logger);
  if (!pluginCommand) return serve(kernel, embedded);
  try {
    process.exitCode = await kernel.runCommand(command, argv.slice(1));
  } finally {
    await kernel.stop().catch((err) => kernel.logger.error({ err }, 'stop failed'));
    await embedded.stop();
  }
}

/** A kernel command that needs the plugins' ports (the hosting provider, the billing plugin …). */
async function kernelCommand(kernel: Kernel, run: (kernel: Kernel) => Promise<number>): Promise<void> {
  const embedded = await startEmbedded(kernel.config, root, kernel.logger);
  try {
    await kernel.prepareCommand();
    process.exitCode = await run(kernel);
  } finally {
    await kernel.stop().catch((err) => kernel.logger.error({ err }, 'stop failed'));
    await embedded.stop();
  }
}

async function oneShot(command: 'migrate' | 'create-admin', args: string[], config: KernelConfig): Promise<void> {
  const { values } = commandArgs({ args, options: { email: { type: 'string' }, password: { type: 'string' } } }, KERNEL_USAGE);
  if (command === 'create-admin' && !values.email) throw new BootError(`create-admin needs --email\n${KERNEL_USAGE}`, 'invalid_arguments');
  // The same rule as registration: an admin whose address is not one could never get a reset mail.
  if (command === 'create-admin' && !z.email().max(254).safeParse(values.email).success) {
    throw new BootError(`"${values.email}" is not an email address`, 'invalid_arguments');
  }
  const logger = createLogger(config.logging.level);
  const embedded = await startEmbedded(config, root, logger);
  try {
    if (command === 'migrate') return await migrate(config, logger);
    return await createAdmin(config, logger, values.email!, values.password);
  } finally {
    await embedded.stop();
  }
}

/** One pass of the controller, printed; recording and repairing stay with the elected controller. */
async function controllerOnce(kernel: Kernel, args: string[]): Promise<void> {
  const { values } = commandArgs({ args, options: { once: { type: 'boolean' }, 'dry-run': { type: 'boolean' } } }, KERNEL_USAGE);
  if (!values['dry-run']) {
    throw new BootError('zpack controller --once runs only with --dry-run: recording and repairing belong to the elected controller (zpack controller)', 'invalid_arguments');
  }
  const embedded = await startEmbedded(kernel.config, root, kernel.logger);
  try {
    await kernel.boot();
    await kernel.startPlugins();
    console.log(findingsTable(await kernel.controller.dryRun()));
  } finally {
    await kernel.stop().catch((err) => kernel.logger.error({ err }, 'stop failed'));
    await embedded.stop();
  }
}

async function serve(kernel: Kernel, embedded: EmbeddedServices): Promise<void> {
  const { config } = kernel;
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
    await embedded.stop().catch(() => undefined);
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
  // A refusal with a code (a password too short for create-admin …) is one line; anything else keeps its stack.
  console.error(err instanceof BootError || err instanceof ZpackError ? `zpack: ${err.message} (${err.code})` : err);
  process.exit(1);
});
