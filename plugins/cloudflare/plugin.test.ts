import { expect } from 'chai';
import { EdgeProvider, InstanceType } from '../../kernel/api';
import { startTestKernel } from '../../kernel/testing';
import { CloudflareConnection } from './connection';
import plugin from './index';
import { gameInstance, TestGameType } from './testing/fixture';
import { SIMULATOR_ZONE_ID } from './testing/simulator';

const required = { zoneName: 'play.example.test', target: 'proxy.play.example.test' };

describe('cloudflare plugin', () => {
  it('serves EdgeProvider from its own simulator in simulate mode, and stops it on stop', async () => {
    const tk = await startTestKernel({
      plugins: [plugin],
      config: { role: 'api', plugins: { cloudflare: { enabled: true, options: { ...required, simulate: true, simulator: { port: 0 } } } } },
      overrides: [{ token: InstanceType, value: new TestGameType() }],
    });
    const connection = tk.kernel.resolve(CloudflareConnection);
    try {
      const record = await tk.kernel.resolve(EdgeProvider).publish(gameInstance());
      expect(connection.simulator!.records(SIMULATOR_ZONE_ID).map((r) => [r.name, r.data])).to.deep.equal([
        ['_minecraft._tcp.mc-5001.play.example.test', { priority: 0, weight: 5, port: 25565, target: 'proxy.play.example.test' }],
      ]);
      expect(record.name).to.equal('_minecraft._tcp.mc-5001.play.example.test');
    } finally {
      await tk.stop();
    }
    expect(() => connection.client).to.throw(/has not started/);
  });

  it('requires apiToken and zoneId unless simulate is true, naming the key', () => {
    const result = plugin.config.safeParse({ ...required });
    expect(result.success).to.equal(false);
    expect(result.error!.issues.map((i) => [i.path.join('.'), i.message])).to.deep.equal([
      ['apiToken', 'is a secret and has no default: set it from the environment'],
      ['zoneId', 'required unless simulate is true'],
    ]);
  });

  it('refuses a zone name or target that is not a DNS name', () => {
    const result = plugin.config.safeParse({ simulate: true, zoneName: 'play example', target: 'proxy.play.example.test.' });
    expect(result.error!.issues.map((i) => i.path.join('.'))).to.deep.equal(['zoneName', 'target']);
  });

  it('defaults to the public API, port 25565 and automatic TTL, and lower-cases names', () => {
    const config = plugin.config.parse({ apiToken: 't', zoneId: 'z', zoneName: 'Play.Example.COM', target: 'Proxy.Example.com' });
    expect(config).to.deep.include({
      baseUrl: 'https://api.cloudflare.com/client/v4', port: 25565, ttl: 1, maxRetries: 3,
      zoneName: 'play.example.com', target: 'proxy.example.com', simulate: false,
    });
    expect(config.simulator).to.deep.equal({ host: '127.0.0.1', port: 0, latencyMs: 0 });
  });
});
