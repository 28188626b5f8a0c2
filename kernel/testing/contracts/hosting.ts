import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { UnavailableError, VmidTakenError } from '../../api';
import type { ContainerSpec, HostingProvider } from '../../api';
import { rejection, useSubject, type Setup } from './subject';

export interface HostingContractSubject {
  provider: HostingProvider;
  /** A template name the provider maps to an image (ContainerSpec.template). */
  template: string;
  /** Puts a container in place that the provider did not create, holding `vmid`. */
  foreign(vmid: number, node: string): Promise<void>;
}

/**
 * The HostingProvider port's documented semantics: create, start, stop and destroy are safe to
 * repeat, a missing container is 'already_gone' and 'missing', a re-run of the same operation
 * adopts its container (and finds it by the operation id), a VMID someone else holds is refused
 * with VmidTakenError, and a container the provider did not make is never destroyed.
 */
export function describeHostingProviderContract(name: string, setup: Setup<HostingContractSubject>): void {
  describe(`${name}: HostingProvider contract`, () => {
    const env = useSubject(setup);
    /** A spec for a new container with this VMID on `node`, made by a new create operation. */
    const specFor = (vmid: number, node: string): ContainerSpec => ({
      vmid, node, operationId: randomUUID(), instanceId: randomUUID(), instanceName: `Contract ${vmid}`,
      template: env.subject.template, memoryMb: 1024, cores: 1, diskGb: 4,
    });
    const fresh = async (vmid: number) => {
      const { provider } = env.subject;
      const made = specFor(vmid, await provider.pickNode());
      return { spec: made, ref: await provider.create(made) };
    };

    it('creates a stopped container on the picked node, found by its VMID and by its create operation', async () => {
      const { provider } = env.subject;
      const { spec, ref } = await fresh(9101);
      expect(ref).to.deep.equal({ vmid: 9101, node: spec.node });
      expect(await provider.status(ref)).to.equal('stopped');
      expect(await provider.locate(9101)).to.equal(spec.node);
      expect(await provider.findByOperation(spec.operationId)).to.deep.equal(ref);
    });

    it('never picks an excluded node (maintenance), and says UnavailableError once every node is excluded', async () => {
      const { provider } = env.subject;
      const excluded: string[] = [];
      for (let i = 0; i < 50; i++) {
        const picked = await provider.pickNode({ exclude: excluded }).catch((err: unknown) => err);
        if (picked instanceof UnavailableError) return;
        expect(picked, `picked with ${excluded.join(', ') || 'nothing'} excluded`).to.be.a('string');
        expect(excluded).to.not.include(picked);
        excluded.push(picked as string);
      }
      expect.fail(`still picking after excluding ${excluded.length} nodes`);
    });

    it('adopts on a repeated create of the same operation instead of failing', async () => {
      const { provider } = env.subject;
      const { spec, ref } = await fresh(9102);
      expect(await provider.create(spec)).to.deep.equal(ref);
      expect(await provider.status(ref)).to.equal('stopped');
    });

    it('refuses a VMID held by a container it did not create with VmidTakenError, and leaves that container alone', async () => {
      const { provider, foreign } = env.subject;
      const node = await provider.pickNode();
      await foreign(9103, node);
      const err = await rejection(provider.create(specFor(9103, node)));
      expect(err).to.be.instanceOf(VmidTakenError);
      expect((err as VmidTakenError).vmid).to.equal(9103);
      expect(await provider.locate(9103)).to.equal(node);
    });

    it('refuses a VMID that another create operation holds with VmidTakenError', async () => {
      const { provider } = env.subject;
      const { spec, ref } = await fresh(9107);
      const err = await rejection(provider.create(specFor(9107, spec.node)));
      expect(err).to.be.instanceOf(VmidTakenError);
      expect(await provider.findByOperation(spec.operationId)).to.deep.equal(ref);
    });

    it('never destroys a container it did not make', async () => {
      const { provider, foreign } = env.subject;
      const node = await provider.pickNode();
      await foreign(9108, node);
      await rejection(provider.destroy({ vmid: 9108, node }));
      expect(await provider.locate(9108)).to.equal(node);
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

    it("answers the container's host and its agent's address as an http URL", async () => {
      const { provider } = env.subject;
      const { ref } = await fresh(9105);
      await provider.start(ref);
      const { host, agentUrl } = await provider.address(ref);
      expect(host).to.be.a('string').and.not.equal('');
      expect(new URL(agentUrl).protocol).to.match(/^https?:$/);
    });

    it("destroys a running container, then says 'already_gone', 'missing' and finds it no more", async () => {
      const { provider } = env.subject;
      const { spec, ref } = await fresh(9106);
      await provider.start(ref);
      expect(await provider.destroy(ref)).to.equal('done');
      expect(await provider.destroy(ref)).to.equal('already_gone');
      expect(await provider.status(ref)).to.equal('missing');
      expect(await provider.locate(9106)).to.equal(null);
      expect(await provider.findByOperation(spec.operationId)).to.equal(null);
    });

    it('knows nothing of a VMID or operation no container holds', async () => {
      const { provider } = env.subject;
      const node = await provider.pickNode();
      expect(await provider.status({ vmid: 9199, node })).to.equal('missing');
      expect(await provider.locate(9199)).to.equal(null);
      expect(await provider.findByOperation(randomUUID())).to.equal(null);
      expect(await provider.destroy({ vmid: 9199, node })).to.equal('already_gone');
    });
  });
}
