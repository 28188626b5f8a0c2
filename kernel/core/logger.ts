import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type Logger } from 'pino';

/** What an operation's work is about; every log line written while it runs carries it. */
export interface LogContext {
  operationId?: string;
  instanceId?: string;
}

const context = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with these ids on every log line it (and whatever it awaits) writes, in any process. */
export function withLogContext<T>(ids: LogContext, fn: () => T): T {
  return context.run({ ...context.getStore(), ...dropEmpty(ids) }, fn);
}

/** Adds ids to the current context (an HTTP request that just created an operation); nothing outside one. */
export function addLogContext(ids: LogContext): void {
  const store = context.getStore();
  if (store) Object.assign(store, dropEmpty(ids));
}

const dropEmpty = (ids: LogContext): LogContext => Object.fromEntries(Object.entries(ids).filter(([, v]) => v)) as LogContext;

/** `destination`: where lines go (stdout by default; tests collect them). */
export function createLogger(level: string, base: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'zpack', ...base },
    mixin: () => context.getStore() ?? {},
    redact: { paths: ['*.password', '*.token', '*.refreshToken', '*.accessToken', 'req.headers.authorization'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
