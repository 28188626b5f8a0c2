import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The bytes the simulated artifact server hands out for `url`: a catalog entry names their hash,
 * as a real one names the hash of a real tarball.
 */
export function simulatedArtifact(url: string): Buffer {
  return Buffer.from(`zpack simulated runtime artifact ${url}\n`);
}
export function simulatedArtifactSha256(url: string): string {
  return createHash('sha256').update(simulatedArtifact(url)).digest('hex');
}

/** One request that reached a simulated code-server. */
export interface CodeServerRequestRecord {
  vmid: number;
  method: string;
  /** The path as code-server saw it (under its own root), with the query. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  upgrade: boolean;
  at: Date;
}

const MIB = 1024 * 1024;
/** code-server's idle footprint as measured in the seed (1-2 GB), and what each open session adds. */
const IDLE_BYTES = 1200 * MIB;
const PER_SESSION_BYTES = 40 * MIB;

export interface RuntimeState {
  name: string;
  active: string | null;
  previous: string | null;
  installed: string[];
}

export type InstallVerdict = { ok: true } | { ok: false; status: number; body: Record<string, unknown> };

/**
 * The dev side of a simulated container: runtimes installed from artifacts whose SHA-256 is
 * checked, the dev user and workspace, and a fake code-server (HTTP pages and a WebSocket echo).
 */
export class SimDevContainer {
  readonly runtime: RuntimeState;
  readonly devUser: string;
  readonly workspace: string;
  codeServer: 'running' | 'stopped';
  private readonly sockets = new Set<WebSocket>();

  constructor(readonly vmid: number, payload: Record<string, unknown>) {
    const runtime = payload.runtime as { name: string; version: string };
    const codeServer = payload.codeServer as { enabled?: boolean } | undefined;
    this.runtime = { name: runtime.name, active: runtime.version, previous: null, installed: [runtime.version] };
    this.devUser = String(payload.devUser ?? 'dev');
    this.workspace = String(payload.workspace ?? '/home/dev/workspace');
    this.codeServer = codeServer?.enabled === false ? 'stopped' : 'running';
  }

  /** A dev payload's runtime must come with the artifact its hash names, or the provision fails. */
  static verify(payload: Record<string, unknown>): InstallVerdict {
    const runtime = payload.runtime as { artifact?: unknown; sha256?: unknown } | undefined;
    return checkArtifact(runtime?.artifact, runtime?.sha256);
  }

  /** Installs next to the active version; a hash mismatch installs nothing. */
  install(body: Record<string, unknown>): InstallVerdict {
    if (body.runtime !== this.runtime.name) return { ok: false, status: 400, body: { error: 'wrong_runtime', runtime: this.runtime.name } };
    const verdict = checkArtifact(body.artifact, body.sha256);
    if (!verdict.ok) return verdict;
    const version = String(body.version);
    if (!this.runtime.installed.includes(version)) this.runtime.installed.push(version);
    return { ok: true };
  }

  /** Switches to an installed version, keeping the one it replaces as `previous`. */
  activate(version: string): boolean {
    if (!this.runtime.installed.includes(version)) return false;
    if (version !== this.runtime.active) {
      this.runtime.previous = this.runtime.active;
      this.runtime.active = version;
    }
    return true;
  }

  control(action: 'start' | 'stop' | 'restart'): void {
    if (action !== 'start') for (const s of this.sockets) s.close(1001, 'code-server stopped');
    this.codeServer = action === 'stop' ? 'stopped' : 'running';
  }

  status(): Record<string, unknown> {
    return {
      provisioningComplete: true,
      runtime: { ...this.runtime, installed: [...this.runtime.installed] },
      devUser: this.devUser,
      workspace: this.workspace,
      codeServer: { state: this.codeServer, memoryBytes: this.memoryBytes(), port: 6000 },
    };
  }

  memoryBytes(): number | null {
    return this.codeServer === 'running' ? IDLE_BYTES + this.sockets.size * PER_SESSION_BYTES : null;
  }

  /** An HTTP request to code-server (path under its root); a stopped one refuses the connection. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (this.codeServer !== 'running') {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (path === '/' || path.startsWith('/?')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><title>code-server</title><h1>code-server in dev container ${this.vmid}</h1><p>workspace ${this.workspace}</p>`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'code-server-session=sim; Path=/; HttpOnly' });
      res.end(JSON.stringify({ vmid: this.vmid, method: req.method, path, bytes: Buffer.concat(chunks).length }));
    });
  }

  /** A WebSocket to code-server: every message comes straight back. */
  upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.codeServer !== 'running') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.once('close', () => this.sockets.delete(ws));
    });
  }

  dispose(): void {
    for (const s of this.sockets) s.terminate();
  }
}

function checkArtifact(artifact: unknown, sha256: unknown): InstallVerdict {
  if (typeof artifact !== 'string' || typeof sha256 !== 'string') return { ok: false, status: 400, body: { error: 'invalid_runtime' } };
  const actual = simulatedArtifactSha256(artifact);
  if (actual !== sha256) return { ok: false, status: 422, body: { error: 'artifact_hash_mismatch', artifact, expected: sha256, actual } };
  return { ok: true };
}
