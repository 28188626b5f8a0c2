import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  LoopbackSimulator, SimulatorFaults, dropConnection, parseJsonBody, readBoundedBody, sendSimulatorAnswer,
  type SimulatorAnswer, type SimulatorRequestError,
} from '../../../kernel/api';

export const SIMULATOR_API_KEY = 'hs-simulator-api-key';

interface StoredKey {
  id: string;
  key: string;
  user: string;
  reusable: boolean;
  ephemeral: boolean;
  used: boolean;
  expiration: string;
  createdAt: string;
  aclTags: string[];
}

/** A machine that joined the tailnet with a pre-auth key: it carries the key's tags. */
export interface StoredNode {
  id: string;
  name: string;
  user: string;
  forcedTags: string[];
}

/**
 * The slice of Headscale's REST API zpack uses: create, list and expire pre-auth keys, list and
 * delete nodes, under a bearer API key, with the errors Headscale gives (401 without the key, 400
 * for a bad tag or expiry, a user that does not exist), and the usual injected faults.
 */
export class HeadscaleSimulator extends LoopbackSimulator {
  readonly faults = new SimulatorFaults({ errorStatus: 500 });
  readonly keys: StoredKey[] = [];
  readonly users = new Set<string>(['zpack']);
  readonly nodes: StoredNode[] = [];
  private nextNode = 1;

  constructor(where: { host?: string; port?: number } = {}, private readonly apiKey = SIMULATOR_API_KEY) {
    super(where);
  }

  /** A node joins with the key (a single-use key is spent) and carries its tags. */
  use(key: string): boolean {
    const found = this.keys.find((k) => k.key === key);
    if (!found || (found.used && !found.reusable) || Date.parse(found.expiration) <= Date.now()) return false;
    found.used = true;
    const id = String(this.nextNode++);
    this.nodes.push({ id, name: `node-${id}`, user: found.user, forcedTags: [...found.aclTags] });
    return true;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    await this.faults.delay();
    if (this.faults.takeDrop()) return dropConnection(req);
    const failed = this.faults.takeFailure(req.method);
    if (failed) return sendSimulatorAnswer(res, { status: failed, body: { code: 13, message: 'internal error' } });
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return sendSimulatorAnswer(res, { status: 401, body: { code: 16, message: 'Unauthorized' } });
    if (url.pathname === '/api/v1/node' && req.method === 'GET') {
      return sendSimulatorAnswer(res, { status: 200, body: { nodes: this.nodes.map((n) => ({ ...n, user: { name: n.user }, validTags: [], invalidTags: [] })) } });
    }
    const node = /^\/api\/v1\/node\/(\d+)$/.exec(url.pathname);
    if (node && req.method === 'DELETE') {
      const at = this.nodes.findIndex((n) => n.id === node[1]);
      if (at < 0) return sendSimulatorAnswer(res, { status: 404, body: { code: 5, message: 'node not found' } });
      this.nodes.splice(at, 1);
      return sendSimulatorAnswer(res, { status: 200, body: {} });
    }
    if (url.pathname === '/api/v1/preauthkey/expire' && req.method === 'POST') {
      const body = parseJsonBody(await readBoundedBody(req)) as { user?: string; key?: string } | undefined;
      const found = this.keys.find((k) => k.key === body?.key && k.user === body?.user);
      if (!found) return sendSimulatorAnswer(res, { status: 404, body: { code: 5, message: 'AuthKey not found' } });
      found.expiration = new Date().toISOString();
      return sendSimulatorAnswer(res, { status: 200, body: {} });
    }
    if (url.pathname !== '/api/v1/preauthkey') return sendSimulatorAnswer(res, { status: 404, body: { code: 5, message: 'Not Found' } });
    if (req.method === 'GET') {
      const user = url.searchParams.get('user');
      return sendSimulatorAnswer(res, { status: 200, body: { preAuthKeys: this.keys.filter((k) => k.user === user) } });
    }
    if (req.method !== 'POST') return sendSimulatorAnswer(res, { status: 405, body: { code: 12, message: 'Method Not Allowed' } });
    const body = parseJsonBody(await readBoundedBody(req)) as Partial<StoredKey> | undefined;
    sendSimulatorAnswer(res, this.create(body ?? {}));
  }

  private create(body: Partial<StoredKey>): SimulatorAnswer {
    if (!body.user || !this.users.has(body.user)) return { status: 404, body: { code: 5, message: 'User not found' } };
    const expiration = Date.parse(String(body.expiration));
    if (!Number.isFinite(expiration) || expiration <= Date.now()) return { status: 400, body: { code: 3, message: 'invalid expiration' } };
    const tags = Array.isArray(body.aclTags) ? body.aclTags.map(String) : [];
    if (tags.some((t) => !/^tag:[a-z0-9-]+$/.test(t))) return { status: 400, body: { code: 3, message: 'invalid tag' } };
    const key: StoredKey = {
      id: String(this.keys.length + 1), key: randomBytes(24).toString('hex'), user: body.user,
      reusable: body.reusable === true, ephemeral: body.ephemeral === true, used: false,
      expiration: new Date(expiration).toISOString(), createdAt: new Date().toISOString(), aclTags: tags,
    };
    this.keys.push(key);
    return { status: 200, body: { preAuthKey: key } };
  }

  protected failure(error: SimulatorRequestError): SimulatorAnswer {
    return { status: error.status, body: { code: 3, message: error.message } };
  }
}
