import { describeInstanceTypeContract } from '../../kernel/testing';
import { minecraftConfig } from './config';
import { MINECRAFT_CRASH_SIGNALS } from './crash-classifier';
import { MinecraftType } from './instance-type';

describeInstanceTypeContract('MinecraftType', async () => ({
  type: new MinecraftType(minecraftConfig.parse({})),
  validOptions: { version: '1.21.4', flavor: 'paper', memoryMb: 2048 },
  invalidOptions: { flavor: 'forge' },
  crashFragments: MINECRAFT_CRASH_SIGNALS.map((s) => s.fragments),
}));
