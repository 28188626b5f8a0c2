import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { BillingGate, type EnforcementState, type PlanEntitlements } from '../../kernel/api';
import modrinthPlugin from '../../plugins/modrinth';
import { ModrinthSimulator } from '../../plugins/modrinth/testing/simulator';
import { startTestKernel, type TestKernel, type TestUser } from '../harness';
import { create, fleetConfig, fleetPlugins, settle, startFleet, type Fleet } from '../provisioning/fixture';

/** A plan gate whose entitlements a test sets per account (null: no limits). */
export class FakePlans extends BillingGate {
  readonly plans = new Map<string, PlanEntitlements>();
  stateOf(): Promise<EnforcementState> {
    return Promise.resolve('active');
  }
  override entitlementsOf(accountId: string): Promise<PlanEntitlements | null> {
    return Promise.resolve(this.plans.get(accountId) ?? null);
  }
}

export interface ModsWorld {
  fleet: Fleet;
  modrinth: ModrinthSimulator;
  tk: TestKernel;
  plans: FakePlans;
}

/** Proxmox, agents and Modrinth simulated; the real proxmox, agent, minecraft and modrinth plugins. */
export function useModsWorld(extra: Record<string, unknown> = {}): ModsWorld {
  const world = {} as ModsWorld;
  before(async () => {
    world.fleet = await startFleet();
    world.modrinth = new ModrinthSimulator();
    await world.modrinth.start();
    world.plans = new FakePlans();
    world.tk = await startTestKernel({
      plugins: [...fleetPlugins, modrinthPlugin],
      overrides: [{ token: BillingGate, value: world.plans }],
      config: fleetConfig(world.fleet, {
        plugins: {
          minecraft: { enabled: true, options: { flavors: ['vanilla', 'paper', 'fabric', 'forge', 'neoforge'] } },
          modrinth: { enabled: true, options: { simulate: false, baseUrl: world.modrinth.url, timeoutMs: 3000, unavailableRetrySeconds: 7 } },
        },
        ...extra,
      }),
    });
  });
  after(async () => {
    await world.tk?.stop();
    await world.modrinth?.stop();
    await world.fleet?.stop();
  });
  return world;
}

export const serverBody = (flavor: string, version = '1.21.4', extra: Record<string, unknown> = {}) =>
  ({ kind: 'game', type: 'minecraft', name: `mods-${flavor}`, options: { version, flavor, memoryMb: 2048, ...extra } });

/** Creates a server and waits until it runs; answers its id and vmid. */
export async function server(user: TestUser, key: string, body: unknown): Promise<{ id: string; vmid: number }> {
  const res = await create(user, key, body);
  expect(res.status, JSON.stringify(res.body)).to.equal(202);
  const op = await settle(user, res.body.operation.id);
  expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
  const got = await user.http.get(`/api/servers/${op.instanceId}`);
  return { id: op.instanceId, vmid: got.body.server.vmid };
}

/** Every file under `dir` of the server root, by relative path, with its sha512 (empty when absent). */
export function folder(root: string, dir = 'mods'): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!existsSync(abs)) return;
    for (const name of readdirSync(abs)) {
      const child = path.join(rel, name);
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else out[child.split(path.sep).join('/')] = createHash('sha512').update(readFileSync(path.join(root, child))).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Starts a mod change and waits for its operation to end. */
export async function change(user: TestUser, res: { status: number; body: any }): Promise<any> {
  expect(res.status, JSON.stringify(res.body)).to.equal(202);
  return settle(user, res.body.operation.id);
}
