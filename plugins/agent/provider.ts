import { AgentError, InstanceAgent } from '../../kernel/api';
import type {
  AgentReadiness, AgentRequest, AgentResponse, AgentTokens, BackupView, InstanceView, PowerAction, RestoreView,
} from '../../kernel/api';
import type { WebSocket } from 'ws';
import { AgentClient } from './client/agent-client';
import type { AgentConfig } from './config';

export type AgentTimeouts = Pick<AgentConfig, 'timeoutMs' | 'readyTimeoutMs'>;

/** InstanceAgent over HTTP: each call goes to the instance's agent address with its derived token. */
export class HttpInstanceAgent extends InstanceAgent {
  constructor(
    private readonly tokens: AgentTokens,
    private readonly timeouts: AgentTimeouts,
    /** Where a stored agent address points today (simulate mode); unset: as stored. */
    private readonly locate: (address: string) => string = (address) => address,
  ) {
    super();
  }

  /**
   * The agent trusts the first bearer that matches `payload.agentToken`, so the token in the
   * payload is always the derived one, whatever the caller put there.
   */
  async provision(instance: InstanceView, payload: Record<string, unknown>): Promise<void> {
    const token = this.tokens.tokenFor(instance.id);
    await this.clientFor(instance, token).provision({ ...payload, agentToken: token });
  }

  /** The agent, asked with the token it holds, takes the instance's derived one instead. */
  async replaceToken(instance: InstanceView, presented: string): Promise<void> {
    await this.clientFor(instance, presented).replaceToken(this.tokens.tokenFor(instance.id));
  }

  async ready(instance: InstanceView): Promise<AgentReadiness> {
    return this.clientFor(instance).ready();
  }

  async status(instance: InstanceView): Promise<Record<string, unknown>> {
    return this.clientFor(instance).status();
  }

  async power(instance: InstanceView, action: PowerAction): Promise<void> {
    await this.clientFor(instance).power(action);
  }

  async request(instance: InstanceView, request: AgentRequest): Promise<AgentResponse> {
    return this.clientFor(instance).request(request);
  }

  async listBackups(instance: InstanceView): Promise<BackupView[]> {
    return this.clientFor(instance).listBackups();
  }

  async createBackup(instance: InstanceView, name: string): Promise<BackupView> {
    return this.clientFor(instance).createBackup(name);
  }

  async restoreBackup(instance: InstanceView, backupId: string): Promise<RestoreView> {
    return this.clientFor(instance).restoreBackup(backupId);
  }

  async restoreStatus(instance: InstanceView): Promise<RestoreView | null> {
    return this.clientFor(instance).restoreStatus();
  }

  async deleteBackup(instance: InstanceView, backupId: string): Promise<void> {
    await this.clientFor(instance).deleteBackup(backupId);
  }

  async openConsole(instance: InstanceView, timeoutMs: number): Promise<WebSocket> {
    return this.clientFor(instance).openConsole(timeoutMs);
  }

  /** Called inside the async methods, so a missing address rejects instead of throwing. */
  private clientFor(instance: InstanceView, token = this.tokens.tokenFor(instance.id)): AgentClient {
    if (!instance.address) {
      throw new AgentError(`instance ${instance.id} has no agent address yet`, { status: 0, body: { reason: 'no_address' } });
    }
    const { timeoutMs, readyTimeoutMs } = this.timeouts;
    return new AgentClient({ baseUrl: this.locate(instance.address), token, timeoutMs, readyTimeoutMs });
  }
}
