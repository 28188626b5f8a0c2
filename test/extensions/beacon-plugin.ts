import { z } from 'zod';
import { InstanceType, definePlugin } from '../../kernel/api';
import type { InstanceCapabilities, ProvisionPlan } from '../../kernel/api';

/** A type of a kind the kernel has never heard of, reached by players over UDP with no SRV record and no proxy. */
class BeaconType extends InstanceType {
  readonly kind = 'custom';
  readonly type = 'beacon';
  readonly optionsSchema = z.object({
    channel: z.string().min(1).max(20),
    memoryMb: z.number().int().min(256).max(1024).default(512),
  }).strict();
  readonly capabilities: InstanceCapabilities = { connect: { protocol: 'udp' }, proxied: false };

  async plan(plan: ProvisionPlan): Promise<ProvisionPlan> {
    const o = plan.options as { channel: string; memoryMb: number };
    return {
      ...plan, template: 'vanilla', memoryMb: o.memoryMb, cores: 1, diskGb: 2,
      portNeeds: [{ name: 'beacon', protocol: 'udp' }],
      agentPayload: { ...plan.agentPayload, channel: o.channel },
    };
  }
}

/** The beacon type, and two status sections: one read from the type's options, one that always fails. */
export default definePlugin({
  name: 'beacon',
  version: '1.0.0', kernelApi: '2',
  config: z.object({}),
  register(ctx) {
    ctx.provide(InstanceType, () => new BeaconType());
    ctx.statusSection('beacon', async (instance) => ({ type: instance.type, udpPort: instance.ports.find((p) => p.name === 'beacon')?.port ?? null }));
    ctx.statusSection('brokenProbe', async () => {
      throw new Error('the probe is broken');
    });
  },
});
