import { z } from 'zod';
import { InstanceType, VetoError } from '../../kernel/api';
import type { InstanceCapabilities, PlanEntitlements, ProvisionPlan } from '../../kernel/api';
import type { RuntimeCatalog } from './catalog';
import type { CodeserverConfig } from './config';

export interface DevOptions {
  runtime: string;
  version: string;
  enableCodeServer: boolean;
  memoryMb: number;
}

/** The agent's part of a dev container: its runtime artifact, user, workspace and code-server. */
export interface DevAgentPayload {
  type: 'codeserver';
  runtime: { name: string; version: string; artifact: string; sha256: string };
  devUser: string;
  workspace: string;
  codeServer: { enabled: boolean; port: number };
}

/**
 * The `codeserver` dev type: a container with one runtime from the verified catalog and, when
 * asked, code-server for the browser IDE. Memory is bounded by the account's plan.
 */
export class CodeServerType extends InstanceType {
  readonly kind = 'dev' as const;
  readonly type = 'codeserver';
  readonly optionsSchema;
  /** Reached through the hosted IDE proxy only: no SRV record, no game proxy registration. */
  readonly capabilities: InstanceCapabilities = { connect: { protocol: 'http' }, proxied: false };

  constructor(
    private readonly config: CodeserverConfig,
    private readonly catalog: RuntimeCatalog,
    private readonly entitlementsOf: (accountId: string) => Promise<PlanEntitlements | null>,
  ) {
    super();
    const m = config.memory;
    const runtimes = catalog.runtimes();
    this.optionsSchema = z.object({
      runtime: z.string().default(runtimes[0]).meta({ enum: runtimes, description: 'A runtime of GET /api/dev/runtimes' }),
      version: z.string().optional().meta({ description: 'A version of that runtime in the catalog (default: its first)' }),
      enableCodeServer: z.boolean().default(true),
      memoryMb: z.number().int().min(m.minMb).max(m.maxMb).default(Math.min(Math.max(m.defaultMb, m.minMb), m.maxMb))
        .meta({ description: 'Container memory; the plan may allow less' }),
    }).strict().superRefine((o, ctx) => {
      const refused = catalog.refusal(o.runtime, o.version ?? catalog.versions(o.runtime)[0] ?? '');
      if (refused) ctx.addIssue({ code: 'custom', path: [refused.field], message: refused.message, params: { allowed: refused.allowed } });
    });
  }

  async plan(plan: ProvisionPlan): Promise<ProvisionPlan> {
    const o = plan.options as unknown as Omit<DevOptions, 'version'> & { version?: string };
    const limits = await this.entitlementsOf(plan.account.id);
    if (limits && o.memoryMb > limits.memoryMbMax) {
      throw new VetoError('forbidden', `The ${limits.plan} plan allows at most ${limits.memoryMbMax} MB per container`, 403, { plan: limits.plan, memoryMbMax: limits.memoryMbMax });
    }
    const release = this.catalog.find(o.runtime, o.version ?? this.catalog.versions(o.runtime)[0])!;
    const dev: DevAgentPayload = {
      type: 'codeserver',
      runtime: { name: release.runtime, version: release.version, artifact: release.artifact, sha256: release.sha256 },
      devUser: this.config.devUser,
      workspace: this.config.workspace,
      codeServer: { enabled: o.enableCodeServer, port: this.config.codeServer.port },
    };
    return {
      ...plan,
      template: release.runtime,
      memoryMb: o.memoryMb,
      cores: this.config.cores,
      diskGb: this.config.diskGb,
      portNeeds: [],
      agentPayload: { ...plan.agentPayload, ...dev },
    };
  }
}
