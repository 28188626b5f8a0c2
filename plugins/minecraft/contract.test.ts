import { describeInstanceTypeContract } from '../../kernel/testing';
import { minecraftConfig } from './config';
import { MinecraftType } from './instance-type';

describeInstanceTypeContract('MinecraftType', async () => ({
  type: new MinecraftType(minecraftConfig.parse({})),
  validOptions: { version: '1.21.4', flavor: 'paper', memoryMb: 2048 },
  invalidOptions: { flavor: 'forge' },
}));
