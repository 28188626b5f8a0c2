import type { ZodType } from 'zod';
import type { CrashClass, CrashInfo, InstanceKind, ProvisionPlan } from '../domain';

/**
 * A game or runtime type (a game server, a browser IDE …). Several are registered at once;
 * the kernel picks the one whose `kind`/`type` matches the create request.
 */
export abstract class InstanceType {
  static readonly port = 'InstanceType';
  /** Many types are enabled at once. */
  static readonly multiple = true;
  abstract readonly kind: InstanceKind;
  abstract readonly type: string;
  /** Validates the create request's type-specific fields (the `options` object). */
  abstract readonly optionsSchema: ZodType;
  /** Fills template, resources, port needs and agent payload into the plan. */
  abstract plan(plan: ProvisionPlan): Promise<ProvisionPlan>;
  /** Names the cause of a crash from its log tail and exit data. */
  classifyCrash(crash: CrashInfo): CrashClass {
    return crash.exitCode === 0 || crash.exitCode === null ? 'unexpected_exit' : 'nonzero_exit';
  }
}
