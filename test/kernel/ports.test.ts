import { expect } from 'chai';
import { z } from 'zod';
import { BootError, EdgeProvider, HostingProvider, KERNEL_API_VERSION, definePlugin, portName } from '../../kernel/api';
import type { PortNeed } from '../../kernel/api';
import { startTestKernel } from '../harness';

const consumer = (consumes: PortNeed[], kernelApi = KERNEL_API_VERSION) =>
  definePlugin({ name: 'consumer', version: '1.0.0', kernelApi, consumes, config: z.object({}), register() {} });

const bootError = async (run: Promise<unknown>): Promise<BootError> => {
  const err = await run.then(() => null, (e: unknown) => e);
  expect(err).to.be.instanceOf(BootError);
  return err as BootError;
};

describe('Declared dependencies at boot', () => {
  it('fails with port_unbound naming the port and the plugin when a required port is unbound', async () => {
    const err = await bootError(startTestKernel({ plugins: [consumer([{ port: HostingProvider }])], config: { plugins: { consumer: { enabled: true } } } }));
    expect(err.code).to.equal('port_unbound');
    expect(err.message).to.match(/plugin "consumer" consumes HostingProvider, which no enabled plugin provides/);
  });

  it('boots when the unbound port is optional, or a plugin binds it', async () => {
    const optional = await startTestKernel({ plugins: [consumer([{ port: EdgeProvider, optional: true }])], config: { plugins: { consumer: { enabled: true } } } });
    await optional.stop();
    const bound = await startTestKernel({
      plugins: [consumer([{ port: HostingProvider }])], config: { plugins: { consumer: { enabled: true } } },
      overrides: [{ token: HostingProvider, value: {} }],
    });
    await bound.stop();
  });

  it('fails with kernel_api_mismatch when a plugin is written for another kernel API', async () => {
    const err = await bootError(startTestKernel({ plugins: [consumer([], '1')], config: { plugins: { consumer: { enabled: true } } } }));
    expect(err.code).to.equal('kernel_api_mismatch');
    expect(err.message).to.equal(`plugin "consumer" is written for kernel API 1; this kernel offers ${KERNEL_API_VERSION}`);
  });

  it('fails a role that works the provisioning queue when a type can be created but no host is bound', async () => {
    const err = await bootError(startTestKernel({ config: { role: 'provision-worker', plugins: { minecraft: { enabled: true } } } }));
    expect(err.code).to.equal('port_unbound');
    expect(err.message).to.equal('role provision-worker works the provisioning queue, which needs HostingProvider; no enabled plugin provides it');
  });

  it('names ports by their typed identity', () => {
    expect([portName(HostingProvider), HostingProvider.port.token]).to.deep.equal(['HostingProvider', Symbol.for('zpack.port.HostingProvider')]);
  });
});
