import type { Logger } from 'pino';
import { z, type ZodType } from 'zod';
import { BootError } from '../api';
import type { InstanceView, StatusSectionReader } from '../api';

/** Fields of GET /api/servers/:id/status the kernel answers itself; no section may shadow them. */
const KERNEL_FIELDS: ReadonlySet<string> = new Set(['state', 'agentReady', 'ready', 'crash', 'billing']);
const NAME = /^[a-z][a-zA-Z0-9_]{0,39}$/;

/**
 * What plugins add to an instance's status, each under its own name. Sections are read side by
 * side; one that fails shows as null (and is logged) rather than failing the status.
 */
export class StatusSections {
  private readonly sections = new Map<string, { owner: string; reader: StatusSectionReader; schema?: ZodType }>();

  constructor(private readonly logger: Logger) {}

  add(owner: string, name: string, reader: StatusSectionReader, schema?: ZodType): void {
    if (!NAME.test(name)) throw new BootError(`plugin "${owner}" names a status section "${name}": use a short camelCase name`);
    if (KERNEL_FIELDS.has(name)) throw new BootError(`plugin "${owner}" may not add status section "${name}": the kernel answers that field`);
    const prior = this.sections.get(name);
    if (prior) throw new BootError(`status section "${name}" is added by both "${prior.owner}" and "${owner}"`);
    this.sections.set(name, { owner, reader, schema });
  }

  /** Each section's schema for the status route's document: null when its read failed, unknown when its plugin gave none. */
  shape(): Record<string, ZodType> {
    return Object.fromEntries([...this.sections].map(([name, { schema }]) => [name, schema ? schema.nullable() : z.unknown()]));
  }

  async read(instance: InstanceView): Promise<Record<string, unknown>> {
    const read = [...this.sections].map(async ([name, { owner, reader }]) => {
      try {
        return [name, (await reader(instance)) ?? null] as const;
      } catch (err) {
        this.logger.error({ err, section: name, plugin: owner, instanceId: instance.id }, 'status section failed; shown as null');
        return [name, null] as const;
      }
    });
    return Object.fromEntries(await Promise.all(read));
  }
}
