import type { DataSource } from 'typeorm';
import type { AgentTokens, InstanceView, ProvisionPlan, SeededContainer, SeededServer, SimulatorSeeder } from '../../api';
import { agentPayload } from '../operations/provision';
import type { FleetFile } from './format';

/** The old system's tag on its containers. */
export const LEGACY_TAG = 'zlh';

/**
 * The drift a sample fleet carries, by server ref, so the import's report and the controller's
 * proposals have something to show: a container gone, an SRV record and a proxy registration
 * missing, an agent that predates zpack's tokens, and containers that already carry zpack's tag
 * (the others carry only the old system's and are tagged by the import).
 */
export interface SampleDrift {
  missingContainer: string[];
  missingEdge: string[];
  missingProxy: string[];
  legacyAgent: string[];
  alreadyManaged: string[];
}

/** Picks the drifting servers among the running ones, in a repeatable way, and gives the legacy agents their token in the file. */
export function injectSampleDrift(fleet: FleetFile): SampleDrift {
  const running = fleet.servers.filter((s) => s.state === 'running');
  const at = (n: number) => (running.length > n ? [running[n].ref] : []);
  const drift: SampleDrift = {
    missingContainer: at(3),
    missingEdge: at(5),
    missingProxy: at(6),
    legacyAgent: at(9),
    alreadyManaged: fleet.servers.filter((_, i) => i % 10 === 1).map((s) => s.ref),
  };
  for (const s of fleet.servers) if (drift.legacyAgent.includes(s.ref)) s.agentToken = `zlh-agent-${s.vmid}-legacy-token`;
  return drift;
}

export interface SeedDeps {
  ds: DataSource;
  seeders: SimulatorSeeder[];
  agentTokens: AgentTokens;
  controlPlaneUrl: string;
  instances: (ids: string[]) => Promise<InstanceView[]>;
}

export interface SeedCounts {
  /** Per seeder (plugin): what it put in place. */
  byPlugin: Record<string, number>;
}

/** Before the import: every server's container, except the ones the drift says are gone. */
export async function seedContainers(deps: SeedDeps, fleet: FleetFile, drift: SampleDrift, counts: SeedCounts): Promise<void> {
  const missing = new Set(drift.missingContainer);
  const managed = new Set(drift.alreadyManaged);
  const containers: SeededContainer[] = [...fleet.servers, ...fleet.devContainers].filter((s) => !missing.has(s.ref)).map((s) => ({
    vmid: s.vmid, node: s.node, hostname: `zlh-${s.vmid}`, state: s.state, memoryMb: 4096, tags: [LEGACY_TAG], managed: managed.has(s.ref),
  }));
  for (const seeder of deps.seeders) add(counts, seeder.name, await seeder.seedContainers(containers));
}

/**
 * After the import: each imported server's agent (holding our token and the payload its create
 * operation planned, or the old system's token for a legacy agent), record and registration.
 */
export async function seedServers(deps: SeedDeps, fleet: FleetFile, drift: SampleDrift, counts: SeedCounts): Promise<void> {
  const refs = new Set([...fleet.servers, ...fleet.devContainers].map((s) => s.ref));
  const missing = new Set(drift.missingContainer);
  const rows = (await deps.ds.query(
    `SELECT r.ref, r.target_id AS id, r.agent_token AS "agentToken", o.input->'plan' AS plan
       FROM fleet_import_row r
       JOIN provisioning_operation o ON o.instance_id = r.target_id AND o.kind = 'create'
      WHERE r.kind = 'server' AND r.ref = ANY($1::text[])`, [[...refs]],
  )) as Array<{ ref: string; id: string; agentToken: string | null; plan: ProvisionPlan }>;
  const views = new Map((await deps.instances(rows.map((r) => r.id))).map((i) => [i.id, i]));
  const servers: SeededServer[] = [];
  for (const row of rows) {
    const instance = views.get(row.id);
    if (!instance) continue;
    const payload = agentPayload(row.plan, instance.id, instance.ports, deps.agentTokens, deps.controlPlaneUrl);
    const token = drift.legacyAgent.includes(row.ref) && row.agentToken ? row.agentToken : deps.agentTokens.tokenFor(instance.id);
    // A server whose container is gone has no agent; its record and registration stay, as the old system left them.
    const omit: SeededServer['omit'] = [
      ...(missing.has(row.ref) ? ['agent' as const] : []),
      ...(drift.missingEdge.includes(row.ref) ? ['edge' as const] : []),
      ...(drift.missingProxy.includes(row.ref) ? ['proxy' as const] : []),
    ];
    servers.push({ instance, agent: { token, payload: { ...payload, agentToken: token } }, omit });
  }
  for (const seeder of deps.seeders) add(counts, seeder.name, await seeder.seedServers(servers));
}

function add(counts: SeedCounts, name: string, n: number): void {
  if (n) counts.byPlugin[name] = (counts.byPlugin[name] ?? 0) + n;
}
