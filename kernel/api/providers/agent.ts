import { PortId } from '../ports';
import { UnavailableError } from '../errors';
import type { Readable, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { InstanceView } from '../domain';

export interface AgentReadiness {
  ready: boolean;
  /** False when the agent holds no provision payload (it restarted, or the provision never reached it). */
  provisioned?: boolean;
  detail?: Record<string, unknown>;
}
export type PowerAction = 'start' | 'stop' | 'restart' | 'kill';

/** One request forwarded to the agent; `path` is the agent's own (e.g. "/files/content"). */
export interface AgentRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Streamed to the agent as it arrives, never buffered whole. */
  body?: Readable;
}

/** The agent's answer, body still streaming. The caller decides between JSON and a stream. */
export interface AgentResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable;
  /**
   * Optional, for a file's bytes: writes the body to `to` (a client's socket) reusing the
   * buffers it reads into, and ends it. A relay that only passes the bytes on prefers it to
   * `body`; only one of the two is used.
   */
  pipe?(to: Writable): Promise<void>;
}

export interface BackupView {
  id: string;
  name: string;
  sizeBytes: number;
  createdAt: string;
  state: 'creating' | 'ready' | 'failed';
}
export interface RestoreView {
  id: string;
  backupId: string;
  state: 'running' | 'succeeded' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

/** Client of the agent that runs inside each container. */
export abstract class InstanceAgent {
  static readonly port = new PortId<InstanceAgent>('InstanceAgent');
  /** Hands the agent its payload (includes the per-instance agent token). */
  abstract provision(instance: InstanceView, payload: Record<string, unknown>): Promise<void>;
  /** Semantic readiness, exactly as the agent's /ready says. */
  abstract ready(instance: InstanceView): Promise<AgentReadiness>;
  abstract status(instance: InstanceView): Promise<Record<string, unknown>>;
  abstract power(instance: InstanceView, action: PowerAction): Promise<void>;
  /**
   * Forwards a file request (paths already confined by the kernel). Any HTTP answer is
   * returned, errors included; only a transport failure or timeout throws AgentError.
   */
  abstract request(instance: InstanceView, request: AgentRequest): Promise<AgentResponse>;
  abstract listBackups(instance: InstanceView): Promise<BackupView[]>;
  abstract createBackup(instance: InstanceView, name: string): Promise<BackupView>;
  /** Starts a restore; poll restoreStatus. */
  abstract restoreBackup(instance: InstanceView, backupId: string): Promise<RestoreView>;
  abstract restoreStatus(instance: InstanceView): Promise<RestoreView | null>;
  abstract deleteBackup(instance: InstanceView, backupId: string): Promise<void>;
  /**
   * Opens the agent's PTY WebSocket, speaking `zpack.console.v1` (CONSOLE_PROTOCOL_V1: client
   * frames and `{type:"stats"}` requests in, agent frames out); rejects with AgentError if not
   * open within timeoutMs.
   */
  abstract openConsole(instance: InstanceView, timeoutMs: number): Promise<WebSocket>;
  /**
   * An agent that holds another token than ours (one that predates zpack) is given ours: asked
   * with the token it holds (`presented`), it then accepts only the instance's derived token.
   * Run only by an operator-approved repair. An agent that cannot answers UnavailableError.
   */
  replaceToken(_instance: InstanceView, _presented: string): Promise<void> {
    return Promise.reject(new UnavailableError('The agent cannot take another token', { operation: 'replaceToken' }));
  }
}
