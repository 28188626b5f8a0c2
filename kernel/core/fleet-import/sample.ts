import bcrypt from 'bcryptjs';
import type { FleetFile } from './format';

/** What the sample's servers run: an enabled game type, options it accepts, the name of its port. */
export interface SampleGame {
  type: string;
  options(pick: <T>(items: readonly T[]) => T): Record<string, unknown>;
  port: string;
}

export interface SampleOptions {
  game: SampleGame;
  accounts: number;
  servers: number;
  nodes: string[];
  /** First VMID and host port the old system used (outside zpack's ranges, as a real takeover is). */
  vmidBase?: number;
  portBase?: number;
  seed?: number;
}

/** The password every sample account had in the old system: `old-password-<n>`. */
export const samplePassword = (n: number): string => `old-password-${n}`;

/**
 * A realistic export of the system being replaced: accounts with bcrypt hashes as a Prisma-era
 * system stores them (cost 4, so a sample of hundreds hashes in a moment), some exempt or admin,
 * servers of `game` spread over the nodes, a few stopped.
 */
export function sampleFleet(o: SampleOptions): FleetFile {
  let state = o.seed ?? 42;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const vmidBase = o.vmidBase ?? 20000;
  const portBase = o.portBase ?? 25565;
  const accounts: FleetFile['accounts'] = [];
  for (let i = 0; i < o.accounts; i++) {
    accounts.push({
      ref: `usr_${i}`,
      email: `player${i}@legacy.example`,
      role: i === 0 ? 'admin' : 'user',
      password: { algorithm: 'bcrypt', hash: bcrypt.hashSync(samplePassword(i), 4) },
      billingExempt: i % 25 === 0,
      quota: { maxInstances: 10 },
      createdAt: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
    });
  }
  const servers: FleetFile['servers'] = [];
  for (let i = 0; i < o.servers; i++) {
    servers.push({
      ref: `srv_${i}`,
      owner: `usr_${i % Math.max(1, o.accounts)}`,
      kind: 'game',
      type: o.game.type,
      name: `World ${i}`,
      options: o.game.options(pick),
      vmid: vmidBase + i,
      node: o.nodes[i % o.nodes.length],
      ports: [{ name: o.game.port, port: portBase + i, protocol: 'tcp' }],
      state: i % 20 === 7 ? 'stopped' : 'running',
      createdAt: new Date(Date.UTC(2025, 1, 1) + i * 600_000).toISOString(),
    });
  }
  return { format: 'zpack.fleet', version: 1, source: 'zlh', exportedAt: new Date(Date.UTC(2026, 10, 1)).toISOString(), accounts, servers, devContainers: [] };
}
