import type { Logger } from 'pino';
import { createHookSet, HookError, ZpackError } from '../api';
import type { HookName, KernelHooks } from '../api';
import type { KernelMetrics } from './metrics';

/**
 * Builds the frozen hooks object. Every tap is wrapped as it registers: timed into metrics,
 * logged, and its failure rethrown naming hook and plugin. Domain errors (VetoError …) keep
 * their class and code, with hook and plugin added to details.
 */
export function createHookBus(logger: Logger, metrics: KernelMetrics): KernelHooks {
  const hooks = createHookSet();
  for (const name of Object.keys(hooks) as HookName[]) {
    (hooks[name] as any).intercept({
      register(tap: { name: string; type: string; fn: (...a: unknown[]) => Promise<unknown> }) {
        if (tap.type !== 'promise') {
          throw new Error(`hook ${name}: plugin "${tap.name}" must use tapPromise`);
        }
        const fn = tap.fn;
        tap.fn = async (...args: unknown[]) => {
          const end = metrics.hookDuration.startTimer({ hook: name, plugin: tap.name });
          try {
            const result = await fn(...args);
            end({ outcome: 'ok' });
            return result;
          } catch (err) {
            end({ outcome: 'error' });
            logger.warn({ hook: name, plugin: tap.name, err }, 'hook tap failed');
            if (err instanceof ZpackError) {
              Object.assign(err.details, { hook: name, plugin: tap.name });
              throw err;
            }
            throw new HookError(name, tap.name, err);
          }
        };
        return tap;
      },
    });
  }
  return Object.freeze(hooks);
}
