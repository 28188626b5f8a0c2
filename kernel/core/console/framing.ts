import type { RawData } from 'ws';
import { CONSOLE_PROTOCOL_V1, consoleClientFrame } from '../../api';
import type { ConsoleAgentFrame, ConsoleClientFrame, ConsoleServerFrame } from '../../api';

/** What one client message becomes: a frame for the agent, or an answer to the client alone. */
export interface FromClient {
  toAgent?: ConsoleClientFrame;
  reply?: string;
}

/**
 * How a console client speaks, on the kernel's side of the bridge. The agent always speaks
 * `zpack.console.v1`; a client either speaks it too, or raw text (clients that offer no
 * subprotocol, as before v1 existed).
 */
export interface ConsoleFraming {
  readonly protocol: string;
  /** Whether the client is sent stats (so the bridge asks the agent for them). */
  readonly wantsStats: boolean;
  fromClient(data: RawData, isBinary: boolean): FromClient;
  /** The client's messages for one agent frame (checked, and `text` as the agent sent it); none for frames it cannot be told. */
  fromAgent(frame: ConsoleAgentFrame, text: string): string[];
  /** A notice of the kernel's own (expiring), or undefined when the client cannot be told. */
  notice(frame: ConsoleServerFrame): string | undefined;
}

/** A raw client is sent a line this long even without its end: an agent that never ends a line must not grow memory. */
const RAW_LINE_LIMIT = 64 * 1024;

export function framingFor(protocol: string): ConsoleFraming {
  return protocol === CONSOLE_PROTOCOL_V1 ? v1Framing() : rawFraming();
}

/**
 * JSON frames both ways. A client frame goes to the agent as parsed (unknown fields dropped); a
 * malformed one is answered with an error frame and goes no further.
 */
function v1Framing(): ConsoleFraming {
  const refuse = (message: string): FromClient => ({ reply: JSON.stringify({ type: 'error', code: 'bad_frame', message }) });
  return {
    protocol: CONSOLE_PROTOCOL_V1,
    wantsStats: true,
    fromClient(data, isBinary) {
      if (isBinary) return refuse('zpack.console.v1 frames are JSON text, not binary');
      let json: unknown;
      try {
        json = JSON.parse(String(data));
      } catch {
        return refuse('A frame must be one JSON object');
      }
      // Typing is nearly all of the traffic: its one field is checked directly, the rest by the schema.
      const frame = json as { type?: unknown; data?: unknown } | null;
      if (frame?.type === 'input' && typeof frame.data === 'string') return { toAgent: { type: 'input', data: frame.data } };
      const parsed = consoleClientFrame.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return refuse(`Not a console frame: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
      }
      return { toAgent: parsed.data };
    },
    // Checked by the bridge, so passed on as the agent wrote it: output is most of the traffic.
    fromAgent: (_frame, text) => [text],
    notice: (frame) => JSON.stringify(frame),
  };
}

/**
 * Raw text, as before v1: each text message is a command (Enter is added when missing), and the
 * PTY's output is sent one line per message, without its line ending. A partial line waits for
 * the rest; status, stats and exit are not sent.
 */
function rawFraming(): ConsoleFraming {
  let pending = '';
  return {
    protocol: '',
    wantsStats: false,
    fromClient(data) {
      const text = String(data);
      return { toAgent: { type: 'input', data: /[\r\n]$/.test(text) ? text : `${text}\r` } };
    },
    fromAgent(frame) {
      if (frame.type !== 'output') return [];
      const lines = (pending + frame.data).split(/\r?\n/);
      pending = lines.pop() ?? '';
      if (pending.length > RAW_LINE_LIMIT) {
        lines.push(pending);
        pending = '';
      }
      return lines;
    },
    notice: () => undefined,
  };
}
