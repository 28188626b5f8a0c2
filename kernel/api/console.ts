import { z } from 'zod';

/**
 * The structured console protocol, negotiated as a WebSocket subprotocol. The portal speaks it to
 * the kernel; the kernel speaks it to every agent's console socket, so resize, signals and stats
 * reach the PTY. JSON text frames, one object each, told apart by `type`.
 */
export const CONSOLE_PROTOCOL_V1 = 'zpack.console.v1';

/** Signals a console may send to the server process: interrupt (Ctrl-C), a graceful stop, or kill. */
export const CONSOLE_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGKILL'] as const;

/** PTY sizes above this are a client's mistake, not a screen. */
const MAX_TERMINAL_CELLS = 10_000;

const dimension = z.number().int().min(1).max(MAX_TERMINAL_CELLS);

/** Client → server (and kernel → agent): keystrokes, a new window size, a signal. */
export const consoleClientFrame = z.discriminatedUnion('type', [
  /** Bytes typed at the terminal, as a terminal sends them (Enter is "\r"). */
  z.object({ type: z.literal('input'), data: z.string() }),
  z.object({ type: z.literal('resize'), cols: dimension, rows: dimension }),
  z.object({ type: z.literal('signal'), name: z.enum(CONSOLE_SIGNALS) }),
]);
export type ConsoleClientFrame = z.infer<typeof consoleClientFrame>;

/** Kernel → agent only: asks for one `stats` frame (the kernel paces the stats a console receives). */
export interface ConsoleStatsRequest {
  type: 'stats';
}

/** Agent → kernel (and on to v1 clients): what the PTY and the server process say. */
export const consoleAgentFrame = z.discriminatedUnion('type', [
  /** PTY output as read: CRLF line endings, a chunk may end mid-line; never splits a character. */
  z.object({ type: z.literal('output'), data: z.string() }),
  /** The server process's state: `starting`, `running`, `stopped`, `crashed`. */
  z.object({ type: z.literal('status'), state: z.string() }),
  z.object({ type: z.literal('stats'), cpuPercent: z.number().min(0), memoryBytes: z.number().int().min(0), players: z.number().int().min(0) }),
  /** The process ended: its exit code, or the signal that ended it. The socket closes next. */
  z.object({ type: z.literal('exit'), code: z.number().int().nullable(), signal: z.string().nullable() }),
  /** A frame that could not be taken; the socket stays open. */
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type ConsoleAgentFrame = z.infer<typeof consoleAgentFrame>;

/** Kernel → client: everything the agent says, plus the kernel's own notices. */
export type ConsoleServerFrame =
  | ConsoleAgentFrame
  /** The console closes in `inSeconds` (its login session expires or its lifetime ends): ask a new ticket. */
  | { type: 'expiring'; inSeconds: number };
