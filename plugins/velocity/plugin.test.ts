import { expect } from 'chai';
import { ProxyRegistry } from '../../kernel/api';
import { startTestKernel } from '../../kernel/testing';
import { VelocityConnection } from './connection';
import plugin from './index';
import { queryStatus } from './testing/minecraft-protocol';

describe('velocity plugin', () => {
  it('serves ProxyRegistry from its own simulator in simulate mode, and stops it on stop', async () => {
    const tk = await startTestKernel({
      plugins: [plugin],
      config: { plugins: { velocity: { enabled: true, options: { simulate: true, simulator: { port: 0 } } } } },
    });
    const connection = tk.kernel.resolve(VelocityConnection);
    const players = connection.simulator!.playerAddress;
    try {
      expect(players.port).to.be.greaterThan(0);
      // The player port listens: a host nobody registered is closed unanswered, as the proxy does.
      expect(await queryStatus({ ...players, serverAddress: 'mc-1.play.example.test' })).to.deep.include({ ok: false, reason: 'closed' });
      await tk.kernel.resolve(ProxyRegistry).register({ name: 'zp-5001', address: '127.0.0.1', port: 30001 });
      expect(connection.simulator!.backends()).to.deep.equal([{ name: 'zp-5001', address: '127.0.0.1', port: 30001, forcedHosts: [] }]);
    } finally {
      await tk.stop();
    }
    expect(() => connection.client).to.throw(/has not started/);
    expect(await queryStatus({ ...players, serverAddress: 'mc-1.play.example.test' }), 'the player port closes on stop').to.deep.include({ ok: false, reason: 'refused' });
  });
});
