import { expect } from 'chai';
import { AgentError, type InstanceAgent, type InstanceView } from '../../api';
import { until } from '../poll';
import { rejection, useSubject, type Setup } from './subject';

export interface AgentContractSubject {
  agent: InstanceAgent;
  /** A running container whose agent has not been provisioned yet, with this VMID. */
  instance(vmid: number): InstanceView;
  /** The payload the provision worker would hand this instance's agent. */
  payload(instance: InstanceView): Record<string, unknown>;
}

/**
 * The InstanceAgent port's semantics: readiness only after provision, power reflected in status,
 * backups listed until deleted, and every failure an AgentError.
 */
export function describeInstanceAgentContract(name: string, setup: Setup<AgentContractSubject>): void {
  describe(`${name}: InstanceAgent contract`, () => {
    const env = useSubject(setup);
    const provisioned = async (vmid: number) => {
      const { agent, instance, payload } = env.subject;
      const view = instance(vmid);
      await agent.provision(view, payload(view));
      await until('agent readiness', () => agent.ready(view), (r) => r.ready);
      return view;
    };

    it('is not ready before provision, and ready after it', async () => {
      const { agent, instance } = env.subject;
      expect((await agent.ready(instance(9401))).ready).to.equal(false);
      await provisioned(9401);
    });

    it('reports stop and start through status and readiness', async () => {
      const { agent } = env.subject;
      const view = await provisioned(9402);
      await agent.power(view, 'stop');
      expect(await agent.status(view)).to.include({ state: 'stopped' });
      expect((await agent.ready(view)).ready).to.equal(false);
      await agent.power(view, 'start');
      await until('ready after start', () => agent.ready(view), (r) => r.ready);
      expect(await agent.status(view)).to.include({ state: 'running' });
    });

    it('lists a backup until it is deleted; deleting an unknown one is an AgentError', async () => {
      const { agent } = env.subject;
      const view = await provisioned(9403);
      const created = await agent.createBackup(view, 'nightly');
      expect(created).to.include({ name: 'nightly' });
      const ready = await until('backup ready', () => agent.listBackups(view), (list) => list.some((b) => b.id === created.id && b.state === 'ready'));
      expect(ready.map((b) => b.id)).to.deep.equal([created.id]);
      await agent.deleteBackup(view, created.id);
      expect(await agent.listBackups(view)).to.deep.equal([]);
      expect(await rejection(agent.deleteBackup(view, created.id))).to.be.instanceOf(AgentError);
    });

    it('has no restore to report before one is started', async () => {
      const view = await provisioned(9404);
      expect(await env.subject.agent.restoreStatus(view)).to.equal(null);
    });

    it('refuses an instance without an agent address with an AgentError', async () => {
      const view = { ...env.subject.instance(9405), address: null };
      expect(await rejection(env.subject.agent.status(view))).to.be.instanceOf(AgentError);
    });
  });
}
