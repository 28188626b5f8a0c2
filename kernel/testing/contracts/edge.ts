import { expect } from 'chai';
import type { EdgeProvider, InstanceView } from '../../api';
import { useSubject, type Setup } from './subject';

export interface EdgeContractSubject {
  provider: EdgeProvider;
  /** A running instance this provider publishes, with this VMID. */
  instance(vmid: number): InstanceView;
}

/** The EdgeProvider port's semantics: publish is an upsert by name, unpublish is safe to repeat. */
export function describeEdgeProviderContract(name: string, setup: Setup<EdgeContractSubject>): void {
  describe(`${name}: EdgeProvider contract`, () => {
    const env = useSubject(setup);
    const named = async (recordName: string) => (await env.subject.provider.list()).filter((r) => r.name === recordName);

    it('publishes a record that list() shows', async () => {
      const { provider, instance } = env.subject;
      const record = await provider.publish(instance(9201));
      expect(record.id).to.be.a('string').and.not.equal('');
      expect(record.name).to.be.a('string').and.not.equal('');
      expect(await named(record.name)).to.deep.equal([record]);
    });

    it('leaves one record when the same instance is published twice', async () => {
      const { provider, instance } = env.subject;
      const first = await provider.publish(instance(9202));
      const second = await provider.publish(instance(9202));
      expect(second).to.deep.equal(first);
      expect(await named(first.name)).to.have.length(1);
    });

    it('gives different instances different names', async () => {
      const { provider, instance } = env.subject;
      const [a, b] = [await provider.publish(instance(9203)), await provider.publish(instance(9204))];
      expect(a.name).to.not.equal(b.name);
    });

    it("unpublishes, then says 'already_gone'", async () => {
      const { provider, instance } = env.subject;
      const record = await provider.publish(instance(9205));
      expect(await provider.unpublish(instance(9205))).to.equal('done');
      expect(await named(record.name)).to.deep.equal([]);
      expect(await provider.unpublish(instance(9205))).to.equal('already_gone');
    });

    it("answers 'already_gone' for an instance never published", async () => {
      expect(await env.subject.provider.unpublish(env.subject.instance(9299))).to.equal('already_gone');
    });
  });
}
