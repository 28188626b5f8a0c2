import { z } from 'zod';
import { requireSecrets, simulatorListener } from '../../kernel/api';

/** Proxmox tag charset (letters, digits, '-', '_', '.', '+'); the managed tag must pass it too. */
export const PROXMOX_TAG = /^[a-z0-9_][a-z0-9_.+-]*$/i;

const minecraftTemplate = 'local:vztmpl/zpack-minecraft.tar.zst';
const blank = z.literal('');

export const proxmoxConfig = z.object({
  /** e.g. https://pve1:8006/api2/json; ignored when `simulate` is true. */
  baseUrl: z.union([blank, z.url()]).default(''),
  /** USER@REALM!TOKENID, e.g. zpack@pve!ctl. */
  tokenId: z.union([blank, z.string().regex(/^[^@!\s]+@[^@!\s]+![^@!\s]+$/, 'must look like USER@REALM!TOKENID')]).default(''),
  tokenSecret: z.string().default(''),
  /** Nodes new containers may go on; pickNode() takes the one with the fewest managed containers. */
  nodes: z.array(z.string().min(1)).min(1).default(['pve1']),
  /** Flavor → template volid; ContainerSpec.template is a flavor or already a volid. */
  templates: z.record(z.string(), z.string().min(1)).default({
    vanilla: minecraftTemplate,
    paper: minecraftTemplate,
    fabric: minecraftTemplate,
    node: 'local:vztmpl/zpack-dev-node.tar.zst',
    default: 'local:vztmpl/zpack-base.tar.zst',
  }),
  storage: z.string().min(1).default('local-lvm'),
  bridge: z.string().min(1).default('vmbr0'),
  /** Agent base URL; {ip} is eth0's live IPv4, {vmid} the container id. */
  agentEndpoint: z.string().min(1).default('http://{ip}:7070'),
  /** Every container this provider creates carries it: destroy refuses containers without it, pickNode counts them. */
  managedTag: z.string().regex(PROXMOX_TAG).default('zpack'),
  timeoutMs: z.number().int().positive().default(10_000),
  taskTimeoutMs: z.number().int().positive().default(120_000),
  taskPollMs: z.number().int().positive().default(500),
  /** Graceful shutdown time before Proxmox forces the stop. */
  shutdownTimeoutSeconds: z.number().int().positive().default(60),
  /** Extra attempts for GETs only: a repeated POST or DELETE could act twice. */
  retries: z.number().int().min(0).max(10).default(2),
  /** Accept a self-signed certificate (a fresh Proxmox install has one). */
  insecureTls: z.boolean().default(false),
  /** Serve the Proxmox API from an in-process loopback simulator instead of baseUrl. */
  simulate: z.boolean().default(false),
  simulator: simulatorListener().extend({
    /** How long each simulated task runs. */
    taskMs: z.number().int().min(0).default(50),
  }).prefault({}),
}).superRefine((config, ctx) => {
  if (config.shutdownTimeoutSeconds * 1000 >= config.taskTimeoutMs) {
    ctx.addIssue({ code: 'custom', path: ['shutdownTimeoutSeconds'], message: 'must be shorter than taskTimeoutMs, or stop() gives up before the forced stop' });
  }
  if (config.simulate) return;
  for (const key of ['baseUrl', 'tokenId'] as const) {
    if (!config[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'required unless simulate is true' });
  }
  requireSecrets(ctx, config, ['tokenSecret']);
});
export type ProxmoxConfig = z.infer<typeof proxmoxConfig>;
