import type { EntityManager } from 'typeorm';
import { PortId } from '../ports';

/**
 * Takes the section of an imported account a plugin owns (`billing`: the payment provider's customer, plan
 * and subscription status), inside the account's import transaction. Without a plugin for a
 * section, the import reports it as not imported.
 */
export abstract class ImportedAccountSection {
  static readonly port = new PortId<ImportedAccountSection>('ImportedAccountSection', { multiple: true });
  /** The key of the account row in the import file, e.g. `billing`. */
  abstract readonly section: string;
  /** Stores what the file says; must be idempotent (an import may be run again). Throw to refuse the account. */
  abstract adopt(accountId: string, value: Record<string, unknown>, manager: EntityManager): Promise<void>;
}
