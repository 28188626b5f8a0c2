import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { z, type ZodType } from 'zod';
import { ProxmoxError } from './errors';
import {
  clusterResource, lxcConfig, lxcInterface, lxcStatus, taskStatus, upid,
  type ClusterResource, type CreateLxcParams, type LxcConfig, type LxcInterface, type LxcStatus, type TaskStatus,
} from './wire';

export interface ProxmoxClientOptions {
  /** e.g. https://pve1:8006/api2/json */
  baseUrl: string;
  /** USER@REALM!TOKENID */
  tokenId: string;
  tokenSecret: string;
  timeoutMs: number;
  /** Extra attempts for GETs on 5xx and network errors. */
  retries: number;
  insecureTls: boolean;
  taskTimeoutMs: number;
  taskPollMs: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Params = Record<string, string | number | boolean>;
interface WireResponse { status: number; statusMessage: string; body: unknown }

const RETRY_BACKOFF_MS = 100;

/** Typed client of the Proxmox VE API: API-token auth, form bodies, `{data}` unwrapped. */
export class ProxmoxClient {
  private readonly base: string;
  /**
   * Connections GETs reuse (a fleet taken over is thousands of reads); an idle one closes after 4 s.
   * At most 16 at once, so a bulk pass never floods the cluster. Writes never reuse one.
   */
  private readonly keptAlive: { http: http.Agent; https: https.Agent };

  constructor(private readonly options: ProxmoxClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.keptAlive = {
      http: new http.Agent({ keepAlive: true, timeout: 4000, maxSockets: 16 }),
      https: new https.Agent({ keepAlive: true, timeout: 4000, maxSockets: 16, rejectUnauthorized: !options.insecureTls }),
    };
  }

  /** Closes the kept-alive read connections (the plugin stopping). */
  close(): void {
    this.keptAlive.http.destroy();
    this.keptAlive.https.destroy();
  }

  /** Starts the create task; returns its UPID. */
  createLxc(node: string, params: CreateLxcParams): Promise<string> {
    return this.call('create', 'POST', `/nodes/${seg(node)}/lxc`, upid, { ...params });
  }

  startLxc(node: string, vmid: number): Promise<string> {
    return this.call('start', 'POST', `${ct(node, vmid)}/status/start`, upid);
  }

  /** Clean shutdown; Proxmox hard-stops it after `timeoutSeconds`. */
  shutdownLxc(node: string, vmid: number, timeoutSeconds: number): Promise<string> {
    return this.call('shutdown', 'POST', `${ct(node, vmid)}/status/shutdown`, upid, { timeout: timeoutSeconds, forceStop: true });
  }

  /** Immediate stop, like pulling the plug. */
  stopLxc(node: string, vmid: number): Promise<string> {
    return this.call('stop', 'POST', `${ct(node, vmid)}/status/stop`, upid);
  }

  deleteLxc(node: string, vmid: number, options: { purge: boolean; force: boolean }): Promise<string> {
    return this.call('delete', 'DELETE', ct(node, vmid), upid, options);
  }

  taskStatus(node: string, taskId: string): Promise<TaskStatus> {
    return this.call('task status', 'GET', `/nodes/${seg(node)}/tasks/${seg(taskId)}/status`, taskStatus);
  }

  /** Polls the task until it stops; 'OK' (or only warnings) is success, anything else a ProxmoxError. */
  async waitTask(node: string, taskId: string): Promise<TaskStatus> {
    const { taskTimeoutMs, taskPollMs } = this.options;
    const operation = `task ${taskId.split(':')[5] ?? 'unknown'}`;
    const deadline = Date.now() + taskTimeoutMs;
    for (;;) {
      const task = await this.taskStatus(node, taskId);
      if (task.status === 'stopped') {
        // "WARNINGS: n" still did the work (e.g. a create that could not set a cosmetic option).
        if (task.exitstatus === 'OK' || task.exitstatus?.startsWith('WARNINGS')) return task;
        throw new ProxmoxError(operation, task.exitstatus ?? 'task stopped without an exit status', 'task_failed',
          { upid: taskId, node, exitstatus: task.exitstatus, body: task });
      }
      if (Date.now() + taskPollMs > deadline) {
        throw new ProxmoxError(operation, `task still running after ${taskTimeoutMs} ms`, 'task_timeout', { upid: taskId, node });
      }
      await sleep(taskPollMs);
    }
  }

  /** Every guest of the cluster with its node (type 'vm' covers both LXC and QEMU). */
  clusterResources(type: 'vm'): Promise<ClusterResource[]> {
    return this.call('cluster resources', 'GET', '/cluster/resources', z.array(clusterResource), { type });
  }

  lxcStatus(node: string, vmid: number): Promise<LxcStatus> {
    return this.call('status', 'GET', `${ct(node, vmid)}/status/current`, lxcStatus);
  }

  /** Sets the memory limit (MiB) of a container; Proxmox applies it to a running one at once. */
  setLxcMemory(node: string, vmid: number, memoryMb: number): Promise<null> {
    return this.call('resize', 'PUT', `${ct(node, vmid)}/config`, z.null(), { memory: memoryMb });
  }

  /** Replaces the container's tags (`;`-separated, as Proxmox stores them). */
  setLxcTags(node: string, vmid: number, tags: string[]): Promise<null> {
    return this.call('tag', 'PUT', `${ct(node, vmid)}/config`, z.null(), { tags: tags.join(';') });
  }

  lxcConfig(node: string, vmid: number): Promise<LxcConfig> {
    return this.call('config', 'GET', `${ct(node, vmid)}/config`, lxcConfig);
  }

  lxcInterfaces(node: string, vmid: number): Promise<LxcInterface[]> {
    return this.call('interfaces', 'GET', `${ct(node, vmid)}/interfaces`, z.array(lxcInterface));
  }

  /** One API call; only GETs are retried, since a repeated POST or DELETE could act twice. */
  private async call<T>(operation: string, method: Method, path: string, schema: ZodType<T>, params: Params = {}): Promise<T> {
    const attempts = method === 'GET' ? this.options.retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(operation, method, path, schema, params);
      } catch (err) {
        if (attempt >= attempts || !(err instanceof ProxmoxError) || !err.transient) throw err;
        await sleep(RETRY_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }

  private async once<T>(operation: string, method: Method, path: string, schema: ZodType<T>, params: Params): Promise<T> {
    const url = new URL(this.base + path);
    const form = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]));
    const body = method === 'POST' || method === 'PUT' ? form.toString() : undefined;
    if (body === undefined) url.search = form.toString();
    let res: WireResponse;
    try {
      res = await this.send(method, url, body);
    } catch (err) {
      if (err instanceof TimedOut) {
        throw new ProxmoxError(operation, `no answer within ${this.options.timeoutMs} ms`, 'timeout', { url: url.href }, err);
      }
      throw new ProxmoxError(operation, (err as Error).message, 'network', { url: url.href }, err);
    }
    if (res.status >= 400) throw ProxmoxError.fromResponse(operation, res.status, res.statusMessage, res.body);
    const parsed = schema.safeParse((res.body as { data?: unknown } | null)?.data);
    if (!parsed.success) {
      throw new ProxmoxError(operation, `unexpected answer: ${parsed.error.issues[0]?.message}`, 'bad_response', { status: res.status, body: res.body });
    }
    return parsed.data;
  }

  /**
   * GETs share kept-alive connections (a GET that meets a connection the server just closed is
   * retried like any transient failure); anything else gets a fresh connection, so a POST never
   * lands on a socket the server just closed. The whole exchange is bounded by timeoutMs.
   */
  private send(method: Method, url: URL, body: string | undefined): Promise<WireResponse> {
    const { tokenId, tokenSecret, insecureTls, timeoutMs } = this.options;
    const headers: http.OutgoingHttpHeaders = { Authorization: `PVEAPIToken=${tokenId}=${tokenSecret}`, Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const tls = url.protocol === 'https:';
    const request: typeof https.request = tls ? https.request : http.request;
    const agent = method !== 'GET' ? false : tls ? this.keptAlive.https : this.keptAlive.http;
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const req = request(url, { method, headers, agent, rejectUnauthorized: !insecureTls }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', () => undefined);
        res.on('close', () => { if (!res.complete) reject(timedOut ? new TimedOut() : new Error('connection closed before the answer was complete')); });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', body: parseJson(Buffer.concat(chunks)) });
        });
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new TimedOut());
      }, timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(timedOut ? new TimedOut() : err);
      });
      req.end(body);
    });
  }

}

/** The exchange took longer than timeoutMs. */
class TimedOut extends Error {
  constructor() {
    super('timed out');
  }
}

const seg = encodeURIComponent;
const ct = (node: string, vmid: number): string => `/nodes/${seg(node)}/lxc/${vmid}`;

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return raw.toString('utf8');
  }
}
