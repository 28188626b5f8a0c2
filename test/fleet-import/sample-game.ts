import type { SampleGame } from '../../kernel/core/fleet-import/sample';

/** The suites' sample servers: minecraft, with the versions and flavors people run. */
export const minecraftSample: SampleGame = {
  type: 'minecraft',
  options: (pick) => ({ version: pick(['1.21.4', '1.20.6']), flavor: pick(['paper', 'vanilla', 'fabric']), memoryMb: pick([2048, 4096]) }),
  port: 'game',
};
