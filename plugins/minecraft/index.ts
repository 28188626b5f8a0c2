import { InstanceType, definePlugin } from '../../kernel/api';
import { minecraftConfig } from './config';
import { MinecraftType } from './instance-type';

export default definePlugin({
  name: 'minecraft',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'The minecraft game type: options, plan, agent payload, crash classes',
  config: minecraftConfig,
  register(ctx) {
    ctx.provide(InstanceType, () => new MinecraftType(ctx.config));
  },
});
