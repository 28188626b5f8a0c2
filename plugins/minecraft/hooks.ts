import type { KernelHooks } from '../../kernel/api';
import { classifyMinecraftCrash } from './crash-classifier';

/** Names the cause of a minecraft crash before notifiers tell the owner. */
export function tapMinecraftHooks(hooks: KernelHooks): void {
  hooks.onCrash.tapPromise('minecraft', async (crash, instance) =>
    instance.type === 'minecraft' ? { ...crash, classification: classifyMinecraftCrash(crash) } : crash);
}
