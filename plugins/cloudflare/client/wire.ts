import { z } from 'zod';

/** Shapes of the Cloudflare v4 API as zpack reads them; unknown fields pass through. */

const apiMessage = z.looseObject({ code: z.number(), message: z.string() });

export const resultInfo = z.looseObject({
  page: z.number().int().optional(),
  per_page: z.number().int().optional(),
  count: z.number().int().optional(),
  total_count: z.number().int().optional(),
  total_pages: z.number().int().optional(),
});
export type ResultInfo = z.infer<typeof resultInfo>;

/** Every answer, success or not, comes in this envelope. */
export const envelope = z.looseObject({
  success: z.boolean(),
  errors: z.array(apiMessage).default([]),
  messages: z.array(z.unknown()).default([]),
  result: z.unknown(),
  result_info: resultInfo.nullish(),
});

const srvData = z.looseObject({
  priority: z.number().int(),
  weight: z.number().int(),
  port: z.number().int(),
  target: z.string(),
});
export type SrvData = z.infer<typeof srvData>;

export const dnsRecord = z.looseObject({
  id: z.string().min(1),
  type: z.string(),
  name: z.string(),
  content: z.string().optional(),
  ttl: z.number().int(),
  /** Set for SRV records; zpack compares these fields, not `content`. */
  data: srvData.partial().optional(),
  comment: z.string().nullish(),
});
export type DnsRecord = z.infer<typeof dnsRecord>;

export const deletedRecord = z.looseObject({ id: z.string() });

/** Body of POST and PUT /zones/{zone}/dns_records for an SRV record. */
export interface SrvRecordInput {
  type: 'SRV';
  /** Fully qualified, e.g. _minecraft._tcp.mc-5001.play.example.com */
  name: string;
  ttl: number;
  data: SrvData;
  comment?: string;
}

export interface DnsRecordFilter {
  type?: string;
  /** Exact match on the fully qualified name. */
  name?: string;
}

