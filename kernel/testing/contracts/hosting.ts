import { expect } from 'chai';
import type { ContainerSpec, HostingProvider } from '../../api';
import { rejection, useSubject, type Setup } from './subject';

export interface HostingContractSubject {
  provider: HostingProvider;
  /** A spec for a new container with this VMID on `node`; each call names a new operation. */
  spec(vmid: number, node: string): ContainerSpec;
  /** The tag by which a re-run of the same operation finds the container `spec` made. */
  adoptionTag(spec: ContainerSpec): string;
  /** Puts a container in place that the provider did not create, holding `vmid`. */
  foreign(vmid: number, node: string): Promise<void>;
}

/**
 * The HostingProvider port's documented semantics: create, start, stop and destroy are safe to
 * repeat, a missing container is 'already_gone' and 'missing', a re-run adopts its container by
 * tag, and a VMID someone else holds is refused without touching that container.
 */
export function describeHostingProviderContract(name: string, setup: Setup<HostingContractSubject>): void {
  describe(`${name}: HostingProvider contract`, () => {
    const env = useSubject(setup);
    const fresh = async (vmid: number) => {
      const { provider, spec } = env.subject;
      const made = spec(vmid, await provider.pickNode());
      return { spec: made, ref: await provider.create(made) };
    };

    it('creates a stopped container on the picked node, found by its VMID and by its tag', async () => {
      const { provider, adoptionTag } = env.subject;
      const { spec, ref } = await fresh(9101);
      expect(ref).to.deep.equal({ vmid: 9101, node: spec.node });
      expect(await provider.status(ref)).to.equal('stopped');
      expect(await provider.locate(9101)).to.equal(spec.node);
      expect(await provider.findByTag(adoptionTag(spec))).to.deep.equal(ref);
    });

    it('adopts on a repeated create of the same operation instead of failing', async () => {
      const { provider } = env.subject;
      const { spec, ref } = await fresh(9102);
      expect(await provider.create(spec)).to.deep.equal(ref);
      expect(await provider.status(ref)).to.equal('stopped');
    });

    it('refuses a VMID held by a container it did not create, and leaves that container alone', async () => {
      const { provider, spec, foreign } = env.subject;
      const node = await provider.pickNode();
      await foreign(9103, node);
      await rejection(provider.create(spec(9103, node)));
      expect(await provider.locate(9103)).to.equal(node);
    });

    it('starts and stops, and a repeated start or stop is harmless', async () => {
      const { provider } = env.subject;
      const { ref } = await fresh(9104);
      await provider.start(ref);
      await provider.start(ref);
      expect(await provider.status(ref)).to.equal('running');
      await provider.stop(ref);
      await provider.stop(ref);
      expect(await provider.status(ref)).to.equal('stopped');
    });

    it("answers the agent's address as an http URL", async () => {
      const { provider } = env.subject;
      const { ref } = await fresh(9105);
      await provider.start(ref);
      expect(new URL(await provider.address(ref)).protocol).to.match(/^https?:$/);
    });

    it("destroys a running container, then says 'already_gone', 'missing' and finds it no more", async () => {
      const { provider, adoptionTag } = env.subject;
      const { spec, ref } = await fresh(9106);
      await provider.start(ref);
      expect(await provider.destroy(ref)).to.equal('done');
      expect(await provider.destroy(ref)).to.equal('already_gone');
      expect(await provider.status(ref)).to.equal('missing');
      expect(await provider.locate(9106)).to.equal(null);
      expect(await provider.findByTag(adoptionTag(spec))).to.equal(null);
    });

    it('knows nothing of a VMID or tag no container holds', async () => {
      const { provider } = env.subject;
      const node = await provider.pickNode();
      expect(await provider.status({ vmid: 9199, node })).to.equal('missing');
      expect(await provider.locate(9199)).to.equal(null);
      expect(await provider.findByTag('op-never-created')).to.equal(null);
      expect(await provider.destroy({ vmid: 9199, node })).to.equal('already_gone');
    });
  });
}
