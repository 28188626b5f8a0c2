import type { WebSocket } from 'ws';
import type { SimServerState } from './sim-container';

/** Lines kept for consoles that attach later, and how many of them a new console is sent. */
const HISTORY_LIMIT = 200;
const REPLAY_LINES = 20;
const PLAYERS = ['Steve', 'Alex'];

export interface ConsoleServer {
  state(): SimServerState;
  stop(): void;
  /** The server process dies, as `crash [class]` asks (a command of the simulation, not of Minecraft). */
  crash(kind: string | undefined): void;
}

/**
 * The PTY of one simulated server: every attached console sees everything the server prints
 * (as a real shared log), and any of them may type a command.
 */
export class SimConsole {
  private readonly sockets = new Set<WebSocket>();
  private readonly history: string[] = [];

  constructor(private readonly server: ConsoleServer) {}

  get attached(): number {
    return this.sockets.size;
  }

  /** The socket first gets the recent log, then everything the server prints. */
  attach(socket: WebSocket): void {
    this.sockets.add(socket);
    for (const line of this.history.slice(-REPLAY_LINES)) socket.send(line);
    socket.on('message', (data) => this.command(String(data)));
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.terminate());
  }

  print(line: string): void {
    this.history.push(line);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    for (const socket of this.sockets) socket.send(line);
  }

  /** Ends every console: the process behind them is gone, so they see nothing more. */
  closeAll(code: number, reason: string): void {
    for (const socket of this.sockets) socket.close(code, reason);
    this.sockets.clear();
  }

  /** Drops every console at once, without a closing handshake: the container itself is going away. */
  dispose(): void {
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
  }

  private command(text: string): void {
    for (const line of text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)) {
      this.print(`> ${line}`);
      this.answer(line);
    }
  }

  private answer(line: string): void {
    const verb = line.split(/\s/, 1)[0];
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
        return this.print('Commands: list, say <message>, stop, crash [oom|mod_or_plugin_error|missing_dependency|nonzero_exit]');
      default:
        return this.print('Unknown or incomplete command, see below for error');
    }
  }
}
