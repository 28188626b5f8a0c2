import { expect } from 'chai';
import { BootError } from '../../kernel/api';
import { loadConfig } from '../../kernel/core/config';
import { modulePluginSource, resolvePlugins } from '../../kernel/core/plugin-loader';
import { distRoot, projectRoot } from '../../kernel/testing';

/** What boot does with the configuration before it touches a database: load, then validate every plugin's options. */
export function bootOptions(env: NodeJS.ProcessEnv, plugins: Record<string, unknown> = {}) {
  const config = loadConfig({ root: projectRoot, env, overrides: { plugins } });
  return resolvePlugins(config.plugins, modulePluginSource(distRoot));
}

/** The BootError `run` stops with; fails when it does not stop. */
export function refusal(run: () => unknown): BootError {
  try {
    run();
  } catch (err) {
    expect(err).to.be.instanceOf(BootError);
    return err as BootError;
  }
  throw new Error('boot was not refused');
}
