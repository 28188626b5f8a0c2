import { describeInstanceAgentContract } from '../../kernel/testing';
import type { InstanceView } from '../../kernel/api';
import { FakeInstanceAgent } from './testing/fake';
import { startAgentFixture } from './testing/fixture';

const payload = (instance: InstanceView) => ({ type: 'minecraft', version: '1.21.4', instanceId: instance.id });

describeInstanceAgentContract('HttpInstanceAgent → agent simulator', async () => {
  const fx = await startAgentFixture({ bootMs: 20 });
  return { agent: fx.agent, instance: fx.instance, payload, teardown: () => fx.sim.stop() };
});

describeInstanceAgentContract('FakeInstanceAgent', async () => ({
  agent: new FakeInstanceAgent(),
  instance: (vmid) => ({
    id: `inst-${vmid}`, ownerId: 'acct-1', kind: 'game', type: 'minecraft', name: `server ${vmid}`, state: 'running',
    vmid, node: 'pve1', address: `http://127.0.0.1:7071/ct/${vmid}`, host: '127.0.0.1', ports: [], payload: {}, createdAt: new Date(),
  }),
  payload,
}));
