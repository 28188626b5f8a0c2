import { expect } from 'chai';
import type { ProxyRegistry } from '../../api';
import { useSubject, type Setup } from './subject';

export interface ProxyContractSubject {
  registry: ProxyRegistry;
}

/** The ProxyRegistry port's semantics: register is an upsert by name, unregister is safe to repeat. */
export function describeProxyRegistryContract(name: string, setup: Setup<ProxyContractSubject>): void {
  describe(`${name}: ProxyRegistry contract`, () => {
    const env = useSubject(setup);
    const named = async (backend: string) => (await env.subject.registry.list()).filter((b) => b.name === backend);

    it('registers a backend that list() shows as given', async () => {
      await env.subject.registry.register({ name: 'zp-9301', address: '10.0.0.31', port: 30031 });
      expect(await named('zp-9301')).to.deep.equal([{ name: 'zp-9301', address: '10.0.0.31', port: 30031 }]);
    });

    it('updates the address when a name is registered again, keeping one entry', async () => {
      const { registry } = env.subject;
      await registry.register({ name: 'zp-9302', address: '10.0.0.32', port: 30032 });
      await registry.register({ name: 'zp-9302', address: '10.0.0.33', port: 30033 });
      expect(await named('zp-9302')).to.deep.equal([{ name: 'zp-9302', address: '10.0.0.33', port: 30033 }]);
    });

    it('keeps the forced hosts a backend is registered with, and replaces them when it is registered again', async () => {
      const { registry } = env.subject;
      await registry.register({ name: 'zp-9304', address: '10.0.0.35', port: 30035, forcedHosts: ['mc-9304.play.example.test'] });
      expect(await named('zp-9304')).to.deep.equal([{ name: 'zp-9304', address: '10.0.0.35', port: 30035, forcedHosts: ['mc-9304.play.example.test'] }]);
      await registry.register({ name: 'zp-9304', address: '10.0.0.35', port: 30035, forcedHosts: ['mc-9304.other.example.test'] });
      expect(await named('zp-9304')).to.deep.equal([{ name: 'zp-9304', address: '10.0.0.35', port: 30035, forcedHosts: ['mc-9304.other.example.test'] }]);
      await registry.register({ name: 'zp-9304', address: '10.0.0.35', port: 30035 });
      expect(await named('zp-9304'), 'registered without forced hosts: none left').to.deep.equal([{ name: 'zp-9304', address: '10.0.0.35', port: 30035 }]);
    });

    it("unregisters, then says 'already_gone'", async () => {
      const { registry } = env.subject;
      await registry.register({ name: 'zp-9303', address: '10.0.0.34', port: 30034 });
      expect(await registry.unregister('zp-9303')).to.equal('done');
      expect(await named('zp-9303')).to.deep.equal([]);
      expect(await registry.unregister('zp-9303')).to.equal('already_gone');
    });

    it("answers 'already_gone' for a name never registered", async () => {
      expect(await env.subject.registry.unregister('zp-9399')).to.equal('already_gone');
    });
  });
}
