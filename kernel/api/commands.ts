import type { PluginRuntime } from './plugin';

/**
 * A plugin's command: `zpack <name> [args…]`, listed by `zpack help`. It runs in a booted kernel
 * (database migrated, plugins started) that serves no HTTP and works no queue; the kernel stops
 * once it returns. A non-zero number is the exit code.
 */
export interface CliCommand<C = unknown> {
  summary: string;
  run(args: string[], runtime: PluginRuntime<C>): Promise<number | void>;
}

/**
 * A `/readyz` contribution: resolves while the plugin can serve, throws (or takes longer than
 * the probe deadline) when it cannot; /readyz then answers 503 naming `<plugin>.<name>`.
 */
export type HealthCheck = () => Promise<void>;
