import { z } from 'zod';

/** Shapes of the `data` Proxmox answers with; only the fields zpack reads are checked. */

export const upid = z.string().regex(/^UPID:/, 'not a task UPID');

export const clusterResource = z.looseObject({
  type: z.string(),
  vmid: z.number().int().optional(),
  node: z.string().optional(),
  status: z.string().optional(),
  /** ';'-separated. */
  tags: z.string().optional(),
});
export type ClusterResource = z.infer<typeof clusterResource>;

export const taskStatus = z.looseObject({
  upid: z.string(),
  status: z.enum(['running', 'stopped']),
  /** Set once stopped: 'OK', 'WARNINGS: n', or the error. */
  exitstatus: z.string().optional(),
});
export type TaskStatus = z.infer<typeof taskStatus>;

export const lxcStatus = z.looseObject({
  status: z.enum(['running', 'stopped']),
  lock: z.string().optional(),
});
export type LxcStatus = z.infer<typeof lxcStatus>;

export const lxcConfig = z.looseObject({
  hostname: z.string().optional(),
  tags: z.string().optional(),
  /** Set while a task holds the container (create, backup, …). */
  lock: z.string().optional(),
});
export type LxcConfig = z.infer<typeof lxcConfig>;

export const lxcInterface = z.looseObject({
  name: z.string(),
  /** "10.0.0.12/24" */
  inet: z.string().optional(),
});
export type LxcInterface = z.infer<typeof lxcInterface>;

/** Body of POST /nodes/{node}/lxc, as zpack fills it. */
export interface CreateLxcParams {
  vmid: number;
  hostname: string;
  /** Free text shown in the Proxmox UI's notes. */
  description: string;
  ostemplate: string;
  memory: number;
  cores: number;
  rootfs: string;
  net0: string;
  tags: string;
  unprivileged: boolean;
}

/** Tags as Proxmox writes them: ';'-separated (older releases also accept ',' and ' '). */
export const parseTags = (tags: string | undefined): string[] => (tags ?? '').split(/[;, ]/).filter(Boolean);

export const hasTag = (tags: string | undefined, tag: string): boolean =>
  parseTags(tags).some((t) => t.toLowerCase() === tag.toLowerCase());
