import type { Logger } from 'pino';
import type { InstanceDirectory, InstanceView } from '../../kernel/api';
import type { DevAgent } from './dev-agent';

/** Records what the agent says of code-server, the runtime and provisioning; a failed look records nothing. */
export async function observeDevContainer(dev: DevAgent, directory: InstanceDirectory, section: string, instance: InstanceView, logger: Logger): Promise<void> {
  try {
    const status = await dev.status(instance);
    await directory.patchSection(instance.id, section, {
      provisioningComplete: status.provisioningComplete ?? false,
      codeServer: { state: status.codeServer?.state ?? 'unknown', memoryBytes: status.codeServer?.memoryBytes ?? null },
      runtime: status.runtime ?? null,
      observedAt: new Date().toISOString(),
    });
  } catch (err) {
    logger.warn({ err, instanceId: instance.id }, 'dev container status not observed');
  }
}
