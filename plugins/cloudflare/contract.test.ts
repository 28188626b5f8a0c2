import { describeEdgeProviderContract } from '../../kernel/testing';
import { FakeEdge } from './testing/fake';
import { gameInstance, SimulatedCloudflare } from './testing/fixture';

const instance = (vmid: number) => gameInstance({ id: `inst-${vmid}`, vmid });

describeEdgeProviderContract('CloudflareEdge → Cloudflare simulator', async () => {
  const cloudflare = await new SimulatedCloudflare().start();
  return { provider: cloudflare.edge(), instance, teardown: () => cloudflare.stop() };
});

describeEdgeProviderContract('FakeEdge', async () => ({ provider: new FakeEdge(), instance }));
