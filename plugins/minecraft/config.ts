import { z } from 'zod';

export const minecraftConfig = z.object({
  /** Versions offered to customers; the agent installs the matching server jar. */
  versions: z.array(z.string().regex(/^\d+\.\d+(\.\d+)?$/)).min(1).default(['1.21.4', '1.21.1', '1.20.6']),
  flavors: z.array(z.enum(['vanilla', 'paper', 'fabric', 'forge', 'neoforge'])).min(1).default(['vanilla', 'paper', 'fabric']),
  memory: z.object({
    minMb: z.number().int().min(512).default(1024),
    /** The largest heap a plan may ask for. */
    maxMb: z.number().int().min(512).default(8192),
    defaultMb: z.number().int().min(512).default(2048),
    /** Container memory on top of the JVM heap (metaspace, native, OS). */
    overheadMb: z.number().int().min(0).default(512),
  }).prefault({}),
  cores: z.number().int().min(1).default(2),
  diskGb: z.number().int().min(1).default(10),
});
export type MinecraftConfig = z.infer<typeof minecraftConfig>;
