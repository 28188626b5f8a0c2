import { z } from 'zod';
import { EdgeProvider, Tokens } from '../../kernel/api';
import type { EdgeRecord, InstanceState, InstanceView, PluginContext, RepairResult } from '../../kernel/api';
import type { SrvServiceOf } from './provider';
import { EdgeDrift } from './drift';

/** What this plugin's payload section (named after the plugin) holds: the published record, or none. */
export interface EdgeSection {
  published: boolean;
  record: EdgeRecord | null;
  at?: string;
}
/** EdgeSection as GET /api/servers/:id/status documents it (`edge: {published, record}` of API.md). */
export const edgeSectionSchema = z.object({
  published: z.boolean(),
  record: z.object({ id: z.string(), name: z.string(), target: z.string(), port: z.number().int() }).nullable()
    .meta({ description: 'The SRV record players resolve, or null while unpublished' }),
  at: z.string().optional().meta({ description: 'When the record was last published or removed (ISO-8601 UTC)' }),
}).meta({ description: 'The server\'s published DNS name' });
/** A failed teardown leaves an instance in 'error': republishing it would undo the unpublish. */
const REPUBLISHABLE: ReadonlySet<InstanceState> = new Set(['running', 'stopped', 'crashed']);

type HookWiring = Pick<PluginContext<unknown>, 'name' | 'hooks' | 'resolve'>;

/**
 * Publishes instances whose type names an SRV service after provisioning, unpublishes them on
 * teardown, republishes on 'edge_missing' and 'edge_wrong' drift; other instances are left alone. Each change is
 * recorded in this plugin's own payload section (its name), which the `edge` status section shows.
 */
export function tapEdgeHooks(ctx: HookWiring, srvServiceOf: SrvServiceOf): void {
  const { name, hooks } = ctx;
  const edge = () => ctx.resolve(EdgeProvider);
  const instances = () => ctx.resolve(Tokens.Instances);
  const now = () => ctx.resolve(Tokens.Clock).now().toISOString();

  const publish = async (instance: InstanceView): Promise<EdgeRecord> => {
    const record = await edge().publish(instance);
    await instances().patchSection(instance.id, name, { published: true, record, at: now() } satisfies EdgeSection);
    return record;
  };

  // A failure propagates: the kernel fails the create operation at after_provision with this error.
  hooks.afterProvision.tapPromise(name, async (instance) => {
    if (srvServiceOf(instance)) await publish(instance);
  });

  hooks.onTeardown.tapPromise(name, async (instance, report) => {
    if (!srvServiceOf(instance)) {
      report.record('edge_unpublish', 'skipped');
      return;
    }
    const outcome = await edge().unpublish(instance);
    await instances().patchSection(instance.id, name, { published: false, record: null, at: now() } satisfies EdgeSection);
    report.record('edge_unpublish', outcome);
  });

  hooks.onRepair.tapPromise(name, async (drift): Promise<RepairResult | undefined> => {
    if (drift.kind !== EdgeDrift.missing && drift.kind !== EdgeDrift.wrong) return undefined;
    const instance = drift.instanceId ? await instances().get(drift.instanceId) : null;
    if (!instance || !srvServiceOf(instance) || !REPUBLISHABLE.has(instance.state)) {
      return {
        action: 'edge_republish', ok: false,
        detail: { reason: 'not_publishable', instanceId: drift.instanceId ?? null, state: instance?.state ?? null },
      };
    }
    return { action: 'edge_republish', ok: true, detail: { record: await publish(instance) } };
  });
}
