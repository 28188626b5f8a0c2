import { z } from 'zod';
import { AgentError } from '../../../kernel/api';
import type { AgentReadiness, AgentRequest, AgentResponse, BackupView, PowerAction, RestoreView } from '../../../kernel/api';
import type { WebSocket } from 'ws';
import { backupAnswer, backupsAnswer, restoreAnswer, restoreStatusAnswer } from './backups-wire';
import { connectConsole } from './console';
import { download } from './download';
import { streamExchange } from './stream';
import { exchange, joinAgentUrl, type AgentAnswer } from './wire';

export interface AgentClientOptions {
  /** Base URL of one agent; may carry a path, e.g. http://127.0.0.1:7071/ct/1234. */
  baseUrl: string;
  /** The instance's agent token, sent as a bearer on every call. */
  token: string;
  timeoutMs: number;
  /** Deadline of a readiness probe; defaults to timeoutMs. */
  readyTimeoutMs?: number;
}

const readyAnswer = z.looseObject({ ready: z.boolean() });
const statusAnswer = z.record(z.string(), z.unknown());

/** Typed wire client of one in-container agent. Calls are never retried: POSTs are not safe to repeat blindly. */
export class AgentClient {
  constructor(private readonly options: AgentClientOptions) {
    if (!URL.canParse(options.baseUrl)) {
      throw new AgentError('agent address is not a URL', { status: 0, body: { reason: 'invalid_address' } });
    }
  }

  /** POST /provision {payload}: hands the agent its payload (which carries its token). */
  async provision(payload: Record<string, unknown>): Promise<void> {
    const answer = await this.send('provision', 'POST', 'provision', { payload });
    if (!isSuccess(answer)) throw failure('provision', answer);
  }

  /** GET /ready: semantic readiness. A 503 saying {ready:false} is an answer, not a failure. */
  async ready(): Promise<AgentReadiness> {
    const answer = await this.send('ready', 'GET', 'ready', undefined, this.options.readyTimeoutMs);
    const parsed = readyAnswer.safeParse(answer.body);
    const understood = parsed.success && (isSuccess(answer) || (answer.status === 503 && !parsed.data.ready));
    if (!understood) throw failure('ready', answer);
    const { ready, ...detail } = parsed.data;
    return { ready, provisioned: detail.phase !== 'unprovisioned', detail };
  }

  /** PUT /token {token}: the agent drops the token it holds (this client's) for `next`. */
  async replaceToken(next: string): Promise<void> {
    const answer = await this.send('replace token', 'PUT', 'token', { token: next });
    if (!isSuccess(answer)) throw failure('replace token', answer);
  }

  /** GET /status: the server process as the agent sees it. */
  async status(): Promise<Record<string, unknown>> {
    const answer = await this.send('status', 'GET', 'status');
    const parsed = statusAnswer.safeParse(answer.body);
    if (!isSuccess(answer) || !parsed.success) throw failure('status', answer);
    return parsed.data;
  }

  /** POST /power {action}. */
  async power(action: PowerAction): Promise<void> {
    const answer = await this.send('power', 'POST', 'power', { action });
    if (!isSuccess(answer)) throw failure('power', answer);
  }

  /** Any agent route, both bodies streamed; HTTP errors are returned, not thrown. */
  request(request: AgentRequest): Promise<AgentResponse> {
    const { baseUrl, token, timeoutMs } = this.options;
    // A file's bytes over plain HTTP take the relay that reuses its buffers (download.ts).
    if (request.method === 'GET' && request.path === '/files/download' && !request.body && new URL(baseUrl).protocol === 'http:') {
      return download({ baseUrl, token, timeoutMs, request });
    }
    return streamExchange({ baseUrl, token, timeoutMs, request });
  }

  /** GET /backups. */
  async listBackups(): Promise<BackupView[]> {
    const answer = await this.send('list backups', 'GET', 'backups');
    const parsed = backupsAnswer.safeParse(answer.body);
    if (!isSuccess(answer) || !parsed.success) throw failure('list backups', answer);
    return parsed.data.backups;
  }

  /** POST /backups {name?}: answers at once with the backup still 'creating'. A blank name lets the agent name it. */
  async createBackup(name: string): Promise<BackupView> {
    const answer = await this.send('create backup', 'POST', 'backups', { name: name.trim() || undefined });
    const parsed = backupAnswer.safeParse(answer.body);
    if (!isSuccess(answer) || !parsed.success) throw failure('create backup', answer);
    return parsed.data.backup;
  }

  /** POST /backups/{id}/restore: the restore runs on; poll restoreStatus. */
  async restoreBackup(backupId: string): Promise<RestoreView> {
    const answer = await this.send('restore backup', 'POST', `backups/${encodeURIComponent(backupId)}/restore`, {});
    const parsed = restoreAnswer.safeParse(answer.body);
    if (!isSuccess(answer) || !parsed.success) throw failure('restore backup', answer);
    return parsed.data.restore;
  }

  /** GET /backups/restore: the latest restore, or null if none ran. */
  async restoreStatus(): Promise<RestoreView | null> {
    const answer = await this.send('restore status', 'GET', 'backups/restore');
    const parsed = restoreStatusAnswer.safeParse(answer.body);
    if (!isSuccess(answer) || !parsed.success) throw failure('restore status', answer);
    return parsed.data.restore;
  }

  /** DELETE /backups/{id}. */
  async deleteBackup(backupId: string): Promise<void> {
    const answer = await this.send('delete backup', 'DELETE', `backups/${encodeURIComponent(backupId)}`);
    if (!isSuccess(answer)) throw failure('delete backup', answer);
  }

  /** WebSocket /console: open within timeoutMs or rejected. */
  openConsole(timeoutMs: number): Promise<WebSocket> {
    return connectConsole(this.options.baseUrl, this.options.token, timeoutMs);
  }

  private send(operation: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, timeoutMs?: number): Promise<AgentAnswer> {
    return exchange({
      operation, method, body,
      url: joinAgentUrl(this.options.baseUrl, path),
      token: this.options.token,
      timeoutMs: timeoutMs ?? this.options.timeoutMs,
    });
  }
}

const isSuccess = (answer: AgentAnswer): boolean => answer.status >= 200 && answer.status < 300;

function failure(operation: string, answer: AgentAnswer): AgentError {
  const why = isSuccess(answer) ? 'an unexpected body' : `HTTP ${answer.status}`;
  return new AgentError(`agent ${operation} failed: answered ${why}`, { status: answer.status, body: answer.body });
}
