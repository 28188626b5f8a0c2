import { z } from 'zod';
import { InstanceType } from '../../kernel/api';
import type { CrashClass, CrashCulprit, CrashInfo, InstanceCapabilities, ProvisionPlan } from '../../kernel/api';
import type { MinecraftConfig } from './config';
import { classifyMinecraftCrash } from './crash-classifier';
import { minecraftCrashCulprit } from './crash-culprit';
import type { Modpacks } from './mods/modpack';

/** The `minecraft` game type: what a server needs, what its agent is told, why it crashed. */
export class MinecraftType extends InstanceType {
  readonly kind = 'game' as const;
  readonly type = 'minecraft';
  readonly optionsSchema;
  /** What server.properties lets players' hosts change, by its own keys; anything else is refused. */
  readonly settingsSchema = z.object({
    motd: z.string().max(59).regex(/^[^\r\n]*$/, 'one line'),
    'max-players': z.number().int().min(1).max(1000),
    difficulty: z.enum(['peaceful', 'easy', 'normal', 'hard']),
    gamemode: z.enum(['survival', 'creative', 'adventure', 'spectator']),
    pvp: z.boolean(),
    'white-list': z.boolean(),
    'enforce-whitelist': z.boolean(),
    hardcore: z.boolean(),
    'allow-flight': z.boolean(),
    'view-distance': z.number().int().min(3).max(32),
    'simulation-distance': z.number().int().min(3).max(32),
    'spawn-protection': z.number().int().min(0).max(64),
  }).partial().strict();
  /** Java clients look up `_minecraft._tcp.<address>`, and Velocity fronts every server. */
  readonly capabilities: InstanceCapabilities = { connect: { protocol: 'tcp', srvService: '_minecraft._tcp' }, proxied: 'minecraft' };

  constructor(private readonly config: MinecraftConfig, private readonly plugin = 'minecraft', private readonly modpacks?: Modpacks) {
    super();
    const m = config.memory;
    this.optionsSchema = z.object({
      version: z.enum(config.versions as [string, ...string[]]).default(config.versions[0]),
      flavor: z.enum(config.flavors as [string, ...string[]]).default(config.flavors.includes('paper') ? 'paper' : config.flavors[0]),
      memoryMb: z.number().int().min(m.minMb).max(m.maxMb).default(Math.min(Math.max(m.defaultMb, m.minMb), m.maxMb)),
      modpack: z.object({
        projectId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
        versionId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
      }).strict().optional().meta({ description: 'Create the server from this catalog modpack (its files are downloaded and checked before the first boot)' }),
    }).strict();
  }

  async plan(plan: ProvisionPlan): Promise<ProvisionPlan> {
    const o = plan.options as { version: string; flavor: string; memoryMb: number; modpack?: { projectId: string; versionId: string } };
    const planned = await this.plainPlan(plan, o);
    if (!o.modpack) return planned;
    if (!this.modpacks) throw new Error('modpacks are not wired into this minecraft type');
    return this.modpacks.plan(planned, o.modpack, { version: o.version, flavor: o.flavor });
  }

  private async plainPlan(plan: ProvisionPlan, o: { version: string; flavor: string; memoryMb: number }): Promise<ProvisionPlan> {
    return {
      ...plan,
      // The game the server runs, for its mod management once it exists.
      payload: { ...plan.payload, [this.plugin]: { version: o.version, flavor: o.flavor } },
      template: o.flavor,
      memoryMb: o.memoryMb + this.config.memory.overheadMb,
      choices: { flavor: o.flavor, memoryMb: o.memoryMb },
      cores: this.config.cores,
      diskGb: this.config.diskGb,
      portNeeds: [{ name: 'game', protocol: 'tcp' }],
      agentPayload: {
        ...plan.agentPayload,
        game: 'minecraft', version: o.version, flavor: o.flavor, heapMb: o.memoryMb, eula: true, motd: plan.name,
      },
    };
  }

  classifyCrash(crash: CrashInfo): CrashClass {
    return classifyMinecraftCrash(crash);
  }

  crashCulprit(crash: CrashInfo): CrashCulprit | null {
    return minecraftCrashCulprit(crash);
  }
}
