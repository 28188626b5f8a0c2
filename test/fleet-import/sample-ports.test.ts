import { expect } from 'chai';
import { importCommand } from '../../kernel/core/fleet-import/command';
import agentPlugin from '../../plugins/agent';
import cloudflarePlugin from '../../plugins/cloudflare';
import minecraftPlugin from '../../plugins/minecraft';
import proxmoxPlugin from '../../plugins/proxmox';
import velocityPlugin from '../../plugins/velocity';
import { startTestKernel, type TestKernel } from '../harness';

describe('zpack import --sample after a server was created here (the README\'s order)', () => {
  let tk: TestKernel;
  before(async function () {
    this.timeout(60_000);
    tk = await startTestKernel({
      plugins: [proxmoxPlugin, agentPlugin, cloudflarePlugin, velocityPlugin, minecraftPlugin],
      config: {
        provisioning: { portRange: { min: 25565, max: 25600 } },
        plugins: {
          proxmox: { enabled: true, options: { simulate: true, simulator: { taskMs: 5 } } },
          agent: { enabled: true, options: { simulate: true, simulator: { bootMs: 20 } } },
          cloudflare: { enabled: true, options: { simulate: true } },
          velocity: { enabled: true, options: { simulate: true } },
          minecraft: { enabled: true, options: {} },
        },
      },
    });
  });
  after(async () => {
    await tk?.stop();
  });

  it('imports every sample server: their ports lie above the range this server\'s came from', async function () {
    this.timeout(60_000);
    const user = await tk.user();
    const accepted = await user.http.post('/api/instances', { kind: 'game', type: 'minecraft', name: 'First', options: {} }, { headers: { 'idempotency-key': 'first' } });
    expect(accepted.status, accepted.text).to.equal(202);
    let op = accepted.body.operation;
    for (let n = 0; n < 300 && (op.state === 'queued' || op.state === 'running'); n++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      op = (await user.http.get(`/api/operations/${op.id}`)).body;
    }
    expect(op.state, JSON.stringify(op.error)).to.equal('succeeded');
    const [held] = await tk.kernel.ds.query(`SELECT ports FROM instance WHERE id = $1`, [op.instanceId]);
    expect(held.ports[0].port).to.equal(25565);

    const lines: string[] = [];
    expect(await importCommand(tk.kernel, ['--sample', '--accounts', '2', '--servers', '3', '--json'], (l) => lines.push(l))).to.equal(0);
    const report = JSON.parse(lines.join('\n'));
    expect(report.servers, JSON.stringify(report.rows)).to.include({ imported: 3, refused: 0 });
    const ports = (await tk.kernel.ds.query(`SELECT i.ports FROM instance i JOIN fleet_import_row r ON r.target_id = i.id`)).map((r: { ports: Array<{ port: number }> }) => r.ports[0].port);
    expect(ports.sort()).to.deep.equal([25601, 25602, 25603]);
  });
});
