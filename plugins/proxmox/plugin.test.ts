import { expect } from 'chai';
import { HostingProvider } from '../../kernel/api';
import { startTestKernel } from '../../kernel/testing';
import { ProxmoxConnection } from './connection';
import plugin from './index';

describe('proxmox plugin', () => {
  it('serves HostingProvider from its own simulator in simulate mode, and stops it on stop', async () => {
    const tk = await startTestKernel({
      plugins: [plugin],
      config: { plugins: { proxmox: { enabled: true, options: { simulate: true, simulator: { port: 0, taskMs: 5 }, taskPollMs: 10 } } } },
    });
    const connection = tk.kernel.resolve(ProxmoxConnection);
    try {
      const hosting = tk.kernel.resolve(HostingProvider);
      const ref = await hosting.create({
        vmid: 3001, node: 'pve1', operationId: '5d2b7c1a-0f3e-4a9b-8c6d-2e1f0a9b8c7d', instanceId: '1c9d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f', instanceName: 'Survival',
        template: 'vanilla', memoryMb: 1024, cores: 1, diskGb: 4,
      });
      expect(connection.simulator!.containers().map((c) => [c.vmid, c.node])).to.deep.equal([[3001, 'pve1']]);
      expect(await hosting.status(ref)).to.equal('stopped');
    } finally {
      await tk.stop();
    }
    expect(() => connection.client).to.throw(/has not started/);
  });
});
