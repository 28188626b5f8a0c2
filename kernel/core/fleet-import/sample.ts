import bcrypt from 'bcryptjs';
import type { FleetFile } from './format';

export interface SampleOptions {
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
 * servers spread over the nodes with the flavors and versions people run, a few stopped.
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
      billing: i % 25 === 0 ? undefined : {
        stripeCustomerId: `cus_legacy${i}`, plan: pick(['vanilla', 'modded', 'heavy']), subscriptionStatus: pick(['active', 'active', 'active', 'trialing', 'past_due']),
      },
      createdAt: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
    });
  }
  const servers: FleetFile['servers'] = [];
  for (let i = 0; i < o.servers; i++) {
    servers.push({
      ref: `srv_${i}`,
      owner: `usr_${i % Math.max(1, o.accounts)}`,
      kind: 'game',
      type: 'minecraft',
      name: `World ${i}`,
      options: { version: pick(['1.21.4', '1.20.6']), flavor: pick(['paper', 'vanilla', 'fabric']), memoryMb: pick([2048, 4096]) },
      vmid: vmidBase + i,
      node: o.nodes[i % o.nodes.length],
      ports: [{ name: 'game', port: portBase + i, protocol: 'tcp' }],
      state: i % 20 === 7 ? 'stopped' : 'running',
      createdAt: new Date(Date.UTC(2025, 1, 1) + i * 600_000).toISOString(),
    });
  }
  return { format: 'zpack.fleet', version: 1, source: 'zlh', exportedAt: new Date(Date.UTC(2026, 10, 1)).toISOString(), accounts, servers, devContainers: [] };
}
