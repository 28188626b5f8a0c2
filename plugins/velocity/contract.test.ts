import { describeProxyRegistryContract } from '../../kernel/testing';
import { FakeProxyRegistry } from './testing/fake';
import { SimulatedBridge } from './testing/fixture';

describeProxyRegistryContract('VelocityProxy → bridge simulator', async () => {
  const bridge = await new SimulatedBridge().start();
  return { registry: bridge.proxy(), teardown: () => bridge.stop() };
});

describeProxyRegistryContract('FakeProxyRegistry', async () => ({ registry: new FakeProxyRegistry() }));
