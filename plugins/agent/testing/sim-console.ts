import type { WebSocket } from 'ws';
import type { ConsoleAgentFrame } from '../../../kernel/api';
import type { SimServerState } from './sim-container';
import { SimPty } from './sim-pty';

/** Lines kept for consoles that attach later, and how many of them a new console is sent. */
const HISTORY_LIMIT = 200;
const REPLAY_LINES = 20;
const PLAYERS = ['Steve', 'Alex'];
const MIB = 1024 * 1024;

export interface ConsoleServer {
  state(): SimServerState;
  stop(): void;
  /** The server process dies, as `crash [class]` asks (a command of the simulation, not of Minecraft). */
  crash(kind: string | undefined): void;
  kill(): void;
}

/** How the process ended, as the console's `exit` frame says it. */
export interface SimExit {
  code: number | null;
  signal: string | null;
}

/**
 * The console of one simulated server, on a PTY: every attached console sees everything the
 * server prints (as a real shared log), and any of them may type a command. Each also hears the
 * server's state when it changes (noticed at transitions and whenever stats are asked for).
 */
export class SimConsole {
  private readonly history: string[] = [];
  private readonly pty: SimPty;
  private reported?: SimServerState;

  constructor(private readonly server: ConsoleServer) {
    this.pty = new SimPty({
      line: (text) => this.command(text),
      signal: (name) => this.signal(name),
      stats: () => {
        this.syncStatus();
        return [this.stats()];
      },
    });
  }

  get attached(): number {
    return this.pty.attached;
  }

  /** The terminal's size, as resize frames set it. */
  get size(): { cols: number; rows: number } {
    return { cols: this.pty.cols, rows: this.pty.rows };
  }

  /** The socket first gets the server's state and the recent log, then everything the server prints. */
  attach(socket: WebSocket): void {
    // The state turns running by time, unseen: consoles already open hear it now, and the newcomer
    // is not told it again as a change on the next stats.
    this.syncStatus();
    this.pty.attach(socket);
    this.pty.send({ type: 'status', state: this.server.state() }, socket);
    const replay = this.history.slice(-REPLAY_LINES);
    if (replay.length) this.pty.write(replay.map((line) => `${line}\r\n`).join(''), socket);
  }

  print(line: string): void {
    this.history.push(line);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    this.pty.write(`${line}\r\n`);
  }

  /** The server changed state: every console hears it. */
  syncStatus(): void {
    for (const frame of this.statusChange()) this.pty.send(frame);
  }

  /** The process ended (null: none was running): consoles hear its state and exit, then close as the PTY would. */
  exited(exit: SimExit | null, close: { code: number; reason: string }): void {
    this.syncStatus();
    if (exit) this.pty.send({ type: 'exit', ...exit });
    this.pty.closeAll(close.code, close.reason);
  }

  /** Drops every console at once, without a closing handshake: the container itself is going away. */
  dispose(): void {
    this.pty.dispose();
  }

  /** A signal reaches the server process, if there is one: SIGKILL kills it, the others stop it gracefully. */
  private signal(name: string): void {
    const state = this.server.state();
    if (state !== 'running' && state !== 'starting') return;
    if (name === 'SIGKILL') this.server.kill();
    else this.server.stop();
  }

  private statusChange(): ConsoleAgentFrame[] {
    const state = this.server.state();
    if (state === this.reported) return [];
    this.reported = state;
    return [{ type: 'status', state }];
  }

  /** The figures of /status's `resources`: the same as the console's stats frames at the same moment. */
  resources(): Record<string, unknown> {
    const { cpuPercent, memoryBytes, players } = this.stats() as { cpuPercent: number; memoryBytes: number; players: number };
    const up = memoryBytes > 0;
    return {
      cpuPercent, memoryBytes, memoryLimitBytes: 2048 * MIB, diskBytes: 48 * MIB,
      networkRxBytes: up ? 1_200_000 : 0, networkTxBytes: up ? 3_400_000 : 0, players: { online: players, max: 20 },
    };
  }

  private stats(): ConsoleAgentFrame {
    const state = this.server.state();
    if (state === 'running') return { type: 'stats', cpuPercent: 12.5, memoryBytes: 1536 * MIB, players: PLAYERS.length };
    if (state === 'starting') return { type: 'stats', cpuPercent: 85, memoryBytes: 512 * MIB, players: 0 };
    return { type: 'stats', cpuPercent: 0, memoryBytes: 0, players: 0 };
  }

  private command(typed: string): void {
    const line = typed.trim();
    if (line) this.answer(line);
    this.syncStatus();
  }

  private answer(line: string): void {
    const verb = line.split(/\s/, 1)[0];
    // The terminal's own answer, whatever the server does.
    if (line === 'stty size') return this.print(`${this.pty.rows} ${this.pty.cols}`);
    const state = this.server.state();
    if (state !== 'running' && state !== 'starting') return this.print('Server is not running');
    switch (verb) {
      case 'list':
        return this.print(`There are ${PLAYERS.length} of a max of 20 players online: ${PLAYERS.join(', ')}`);
      case 'say':
        return this.print(`[Server] ${line.slice(verb.length).trim()}`);
      case 'stop':
        return this.server.stop();
      case 'crash':
        return this.server.crash(line.split(/\s+/)[1]);
      case 'help':
        return this.print('Commands: list, say <message>, stop, stty size, crash [oom|mod_or_plugin_error|missing_dependency|nonzero_exit]');
      default:
        return this.print('Unknown or incomplete command, see below for error');
    }
  }
}
