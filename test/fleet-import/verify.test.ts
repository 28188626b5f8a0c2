import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dropSchema } from '../../kernel/core/database';
import { testConfig } from '../harness';
import { runZpack } from '../harness/zpack-cli';

/** Long enough that a server booting again at the verifying process's start would still be booting when it looks. */
const BOOT_MS = 5000;

describe('zpack import --verify in another process than the import, on the embedded default\'s kept simulated world', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'zpack-verify-sim-'));
  const config = testConfig({
    database: { dropSchemaOnStop: false },
    simulators: { stateDir },
    controller: { addressChecksPerPass: 4 },
    plugins: {
      proxmox: { enabled: true, options: { simulate: true, simulator: { taskMs: 5 } } },
      // Fewer than the fleet per pass: a verify is one pass, and must still ask every agent and address.
      agent: { enabled: true, options: { simulate: true, simulator: { bootMs: BOOT_MS }, driftChecksPerPass: 4 } },
      cloudflare: { enabled: true, options: { simulate: true } },
      velocity: { enabled: true, options: { simulate: true } },
      minecraft: { enabled: true, options: {} },
    },
  });
  after(async () => {
    await dropSchema(config.database.url, config.database.schema);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('lists the drift the sample injected and asks every server, with no address changed by the restart and no agent caught booting', async function () {
    this.timeout(120_000);
    const imported = await runZpack(config, 'import', '--sample', '--accounts', '4', '--servers', '12');
    expect(imported.code, imported.out).to.equal(0);
    // The sample's servers finish booting while no zpack process runs, as real containers would.
    await sleep(BOOT_MS + 200);
    const verified = await runZpack(config, 'import', '--verify');
    const kinds = [...verified.out.matchAll(/^\d\s+([a-z_]+)\s/gm)].map((m) => m[1]);
    expect(kinds, verified.out).to.not.include.members(['address_changed']).and.not.include.members(['agent_not_ready']);
    // Injected: a container gone, an SRV record gone, a legacy agent; and, as for any taken-over server
    // whose agent answers ready, readiness zpack never observed (docs/fleet-import.md).
    expect([...new Set(kinds)].sort(), verified.out).to.deep.equal(['agent_token_rejected', 'container_missing', 'edge_missing', 'readiness_unrecorded']);
    // 12 servers: srv_7 stopped, srv_3's container gone, srv_10's agent the old system's; the 9 others answer ready.
    expect(kinds.filter((k) => k === 'readiness_unrecorded'), verified.out).to.have.length(9);
    expect(verified.code, verified.out).to.equal(1);
  });
});
