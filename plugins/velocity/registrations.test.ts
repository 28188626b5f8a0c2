import { expect } from 'chai';
import pino from 'pino';
import type { Clock, InstanceDirectory, InstanceView } from '../../kernel/api';
import { ProxyRegistrations } from './registrations';
import { FakeProxyRegistry } from './testing/fake';

const ZONE = 'play.example.test';

/** A ready game server as the directory holds it; `published` adds the edge's record to its payload. */
function server(vmid: number, published: boolean): InstanceView {
  return {
    id: `inst-${vmid}`, ownerId: 'acct-1', kind: 'game', type: 'minecraft', name: `Server ${vmid}`, state: 'running', vmid, node: 'pve1',
    address: `http://127.0.0.1:7071/ct/${vmid}`, host: '10.0.0.9', ports: [{ name: 'game', port: 30000 + vmid, protocol: 'tcp' }],
    payload: published ? { edge: { published: true } } : {}, createdAt: new Date(),
  };
}

describe('ProxyRegistrations: forced hosts from the edge', () => {
  let ready: InstanceView[];
  let proxy: FakeProxyRegistry;
  let playerHost: (instance: InstanceView) => string | null;
  let registrations: ProxyRegistrations;

  beforeEach(() => {
    ready = [];
    proxy = new FakeProxyRegistry();
    // As the cloudflare edge answers: from the instance's own payload, null until published.
    playerHost = (i) => (i.payload.edge ? `mc-${i.vmid}.${ZONE}` : null);
    const directory = {
      listReady: async () => ready.map((i) => structuredClone(i)),
      patchSection: async () => undefined,
    } as unknown as InstanceDirectory;
    registrations = new ProxyRegistrations({
      proxy, section: 'velocity', directory: () => directory, clock: () => ({ now: () => new Date() }) as Clock,
      logger: pino({ level: 'silent' }), concurrency: 4, proxiedTypes: () => ['minecraft'], playerHost: (i) => playerHost(i),
    });
  });

  it('registers with the player address the edge recorded after the hook was given its view', async () => {
    const stale = server(5001, false);
    ready = [server(5001, true)];
    expect(await registrations.registerIfReady(stale)).to.equal(true);
    expect(await proxy.list()).to.deep.equal([{ name: 'zp-5001', address: '10.0.0.9', port: 35001, forcedHosts: [`mc-5001.${ZONE}`] }]);
  });

  it('registers a server no edge published without a forced host', async () => {
    ready = [server(5002, false)];
    await registrations.registerIfReady(server(5002, false));
    expect(await proxy.list()).to.deep.equal([{ name: 'zp-5002', address: '10.0.0.9', port: 35002 }]);
  });

  it('still registers when the edge cannot say the address, without a forced host', async () => {
    playerHost = () => {
      throw new Error('edge confused');
    };
    ready = [server(5003, true)];
    expect(await registrations.registerIfReady(server(5003, true))).to.equal(true);
    expect(await proxy.list()).to.deep.equal([{ name: 'zp-5003', address: '10.0.0.9', port: 35003 }]);
  });

  it('rehydrates and resyncs with forced hosts', async () => {
    ready = [server(5004, true), server(5005, false)];
    expect(await registrations.rehydrate()).to.deep.equal([
      { name: 'zp-5004', address: '10.0.0.9', port: 35004, forcedHosts: [`mc-5004.${ZONE}`] },
      { name: 'zp-5005', address: '10.0.0.9', port: 35005 },
    ]);
    expect(await registrations.resync()).to.deep.equal({ registered: 2, failed: [] });
    expect((await proxy.list()).find((b) => b.name === 'zp-5004')?.forcedHosts).to.deep.equal([`mc-5004.${ZONE}`]);
  });
});
