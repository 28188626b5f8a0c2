import { PortId } from '../ports';
import type { ZodObject, ZodType } from 'zod';
import type { CrashClass, CrashCulprit, CrashInfo, InstanceKind, ProvisionPlan } from '../domain';

/**
 * What a type offers to the plugins around it. Edge and proxy plugins read these instead of
 * knowing type names or kinds: a second game type opts in or out of each by saying so.
 */
export interface InstanceCapabilities {
  /** How clients reach the instance's main port. */
  connect: {
    protocol: 'tcp' | 'udp' | 'http';
    /** The DNS SRV service clients look up, e.g. '_<game>._tcp'; without one no SRV record is published. */
    srvService?: string;
  };
  /** The proxy family that routes this type (a name a proxy plugin answers to), or false when none does. */
  proxied: string | false;
}

/**
 * A game or runtime type (a game server, a browser IDE …). Several are registered at once; the
 * create request names one by `type`, and its `kind` must be the one the type declares.
 */
export abstract class InstanceType {
  /** Many types are enabled at once. */
  static readonly port = new PortId<InstanceType>('InstanceType', { multiple: true });
  abstract readonly kind: InstanceKind;
  /** Unique among enabled types: the create request's discriminator. */
  abstract readonly type: string;
  /** The create request's `options`, validated by the router; OpenAPI shows it per type. */
  abstract readonly optionsSchema: ZodType;
  /**
   * The structured settings customers edit (`GET|PUT /api/servers/:id/settings`), keyed as the
   * game's own settings file names them (the agent writes them there). Undefined: the type has none.
   */
  readonly settingsSchema?: ZodObject;
  /** Nothing by default: no SRV record, no proxy. */
  readonly capabilities: InstanceCapabilities = { connect: { protocol: 'tcp' }, proxied: false };
  /** Fills template, resources, port needs and agent payload into the plan. */
  abstract plan(plan: ProvisionPlan): Promise<ProvisionPlan>;
  /** Names the cause of a crash from its log tail and exit data. */
  classifyCrash(crash: CrashInfo): CrashClass {
    return crash.exitCode === 0 || crash.exitCode === null ? 'unexpected_exit' : 'nonzero_exit';
  }
  /** The mod, plugin or component the log tail blames, when it names one (the crash report shows it). */
  crashCulprit(_crash: CrashInfo): CrashCulprit | null {
    return null;
  }
}

/** The enabled type an instance was created with (undefined once that type is disabled). */
export function instanceTypeOf(types: readonly InstanceType[], instance: { type: string }): InstanceType | undefined {
  return types.find((t) => t.type === instance.type);
}
