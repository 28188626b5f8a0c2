import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

/** Stops the process the one orderly way: drain (HTTP, workers, plugins, connections), then exit with `code`. */
export type Drain = (reason: string, code: number) => Promise<void>;

/**
 * The drain every way out of the process goes through, run once however many signals or
 * failures ask for it. A drain that fails or outlasts `forceAfterMs` still exits, non-zero.
 */
export function drainOnce(stop: () => Promise<void>, exit: (code: number) => void, logger: Logger, forceAfterMs = 30_000): Drain {
  let draining: Promise<void> | undefined;
  return (reason, code) => (draining ??= (async () => {
    logger.info({ reason, exitCode: code }, 'draining');
    const force = setTimeout(() => exit(code || 1), forceAfterMs).unref();
    let exitCode = code;
    try {
      await stop();
    } catch (err) {
      logger.error({ err, reason }, 'drain failed');
      exitCode ||= 1;
    }
    clearTimeout(force);
    exit(exitCode);
  })());
}

/**
 * After an unhandled rejection or an uncaught exception the process is in a state nobody
 * planned for: it logs what happened and drains with exit code 1 rather than running on, and
 * the supervisor (systemd, Kubernetes) starts a fresh one. Returns a function that removes them.
 */
export function installProcessGuards(logger: Logger, drain: Drain, target: EventEmitter = process): () => void {
  const onRejection = (reason: unknown) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection: draining and exiting');
    void drain('unhandledRejection', 1);
  };
  const onException = (err: unknown, origin: string) => {
    logger.fatal({ err, origin }, 'uncaught exception: draining and exiting');
    void drain('uncaughtException', 1);
  };
  target.on('unhandledRejection', onRejection);
  target.on('uncaughtException', onException);
  return () => {
    target.off('unhandledRejection', onRejection);
    target.off('uncaughtException', onException);
  };
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
