import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import { AgentError, InstanceAgent } from '../../../kernel/api';
import type { AgentReadiness, AgentRequest, AgentResponse, BackupView, InstanceView, PowerAction, RestoreView } from '../../../kernel/api';

interface FakeServer {
  payload: Record<string, unknown>;
  state: 'running' | 'stopped';
  backups: BackupView[];
  restore: RestoreView | null;
}

/**
 * InstanceAgent in memory, for tests that need an agent but not its wire: a provisioned
 * server is ready at once, power flips its state, backups are ready when made. Files and the
 * console need the real agent's data, so they answer as an agent without them would.
 */
export class FakeInstanceAgent extends InstanceAgent {
  private readonly servers = new Map<string, FakeServer>();

  async provision(instance: InstanceView, payload: Record<string, unknown>): Promise<void> {
    this.reachable(instance);
    this.servers.set(instance.id, { payload: { ...payload }, state: 'running', backups: [], restore: null });
  }

  async ready(instance: InstanceView): Promise<AgentReadiness> {
    this.reachable(instance);
    const server = this.servers.get(instance.id);
    return { ready: server?.state === 'running', detail: { phase: server?.state ?? 'unprovisioned' } };
  }

  async status(instance: InstanceView): Promise<Record<string, unknown>> {
    const server = this.server(instance, 'status');
    return { state: server.state, provisioned: true, payload: server.payload };
  }

  async power(instance: InstanceView, action: PowerAction): Promise<void> {
    this.server(instance, 'power').state = action === 'stop' || action === 'kill' ? 'stopped' : 'running';
  }

  async request(instance: InstanceView, request: AgentRequest): Promise<AgentResponse> {
    this.server(instance, 'request');
    const body = JSON.stringify({ error: 'not_found', path: request.path });
    return { status: 404, headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from(body)]) };
  }

  async listBackups(instance: InstanceView): Promise<BackupView[]> {
    return this.server(instance, 'listBackups').backups.map((b) => ({ ...b }));
  }

  async createBackup(instance: InstanceView, name: string): Promise<BackupView> {
    const backup: BackupView = { id: randomUUID(), name, sizeBytes: 1024, createdAt: new Date().toISOString(), state: 'ready' };
    this.server(instance, 'createBackup').backups.push(backup);
    return { ...backup };
  }

  async restoreBackup(instance: InstanceView, backupId: string): Promise<RestoreView> {
    const server = this.server(instance, 'restoreBackup');
    if (!server.backups.some((b) => b.id === backupId)) throw failure('restoreBackup', 404, 'unknown_backup');
    const at = new Date().toISOString();
    server.restore = { id: randomUUID(), backupId, state: 'succeeded', startedAt: at, finishedAt: at, error: null };
    return { ...server.restore };
  }

  async restoreStatus(instance: InstanceView): Promise<RestoreView | null> {
    const { restore } = this.server(instance, 'restoreStatus');
    return restore && { ...restore };
  }

  async deleteBackup(instance: InstanceView, backupId: string): Promise<void> {
    const server = this.server(instance, 'deleteBackup');
    const index = server.backups.findIndex((b) => b.id === backupId);
    if (index < 0) throw failure('deleteBackup', 404, 'unknown_backup');
    server.backups.splice(index, 1);
  }

  async openConsole(instance: InstanceView): Promise<WebSocket> {
    this.server(instance, 'console');
    throw failure('console', 501, 'no_console');
  }

  private reachable(instance: InstanceView): void {
    if (!instance.address) throw new AgentError(`instance ${instance.id} has no agent address yet`, { status: 0, body: { reason: 'no_address' } });
  }

  private server(instance: InstanceView, call: string): FakeServer {
    this.reachable(instance);
    const server = this.servers.get(instance.id);
    if (!server) throw failure(call, 409, 'not_provisioned');
    return server;
  }
}

const failure = (call: string, status: number, error: string) => new AgentError(`agent ${call} failed with ${status}`, { status, body: { error } });
