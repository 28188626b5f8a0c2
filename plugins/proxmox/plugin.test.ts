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
        vmid: 3001, node: 'pve1', hostname: 'mc-3001', template: 'vanilla', memoryMb: 1024, cores: 1, diskGb: 4, tags: ['zpack'],
      });
      expect(connection.simulator!.containers().map((c) => [c.vmid, c.node])).to.deep.equal([[3001, 'pve1']]);
      expect(await hosting.status(ref)).to.equal('stopped');
    } finally {
      await tk.stop();
    }
    expect(() => connection.client).to.throw(/has not started/);
  });
});
