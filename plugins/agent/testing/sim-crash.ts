import type { CrashClass } from '../../../kernel/api';

/** What the simulated server's exit looked like; the agent reports it as it saw it. */
export interface SimCrash {
  exitCode: number | null;
  signal: string | null;
  /** Defaults to how long the server had been up. */
  uptimeSeconds?: number;
  logTail: string[];
}

/** The last lines every Minecraft boot prints, before whatever went wrong. */
const BOOT_TAIL = [
  '[12:00:00] [Server thread/INFO]: Starting minecraft server version 1.21.4',
  '[12:00:01] [Server thread/INFO]: Preparing level "world"',
];

/** One typical crash per class the control plane tells apart (see the minecraft crash classifier). */
export const crashPresets: Readonly<Record<CrashClass, () => SimCrash>> = {
  oom: () => ({
    exitCode: 1, signal: null,
    logTail: [...BOOT_TAIL, 'Exception in thread "Server thread" java.lang.OutOfMemoryError: Java heap space'],
  }),
  mod_or_plugin_error: () => ({
    exitCode: 1, signal: null,
    logTail: [...BOOT_TAIL, '[12:00:02] [Server thread/ERROR]: Error occurred while enabling Essentials v2.20.1 (Is it up to date?)'],
  }),
  missing_dependency: () => ({
    exitCode: 1, signal: null,
    logTail: [...BOOT_TAIL, "[12:00:02] [main/ERROR]: Mod 'Iris' (iris) 1.7.0 requires any version of sodium, which is missing!"],
  }),
  nonzero_exit: () => ({
    exitCode: 2, signal: null,
    logTail: [...BOOT_TAIL, '[12:00:02] [Server thread/ERROR]: Failed to start the minecraft server'],
  }),
  unexpected_exit: () => ({
    exitCode: 0, signal: null,
    logTail: [...BOOT_TAIL, '[12:00:05] [Server thread/INFO]: Done (4.1s)! For help, type "help"'],
  }),
};

/** The control plane must answer within this, as any remote call. */
const EVENT_TIMEOUT_MS = 5_000;

export interface AgentEventDelivery {
  status: number;
  body: unknown;
}

/**
 * POST {controlPlaneUrl}/api/agent/events with the container's own agent token, as the real
 * agent reports exits and readiness. The answer is returned for tests to inspect.
 */
export async function postAgentEvent(controlPlaneUrl: string, token: string, event: Record<string, unknown>): Promise<AgentEventDelivery> {
  const url = `${controlPlaneUrl.replace(/\/+$/, '')}/api/agent/events`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(event),
    signal: AbortSignal.timeout(EVENT_TIMEOUT_MS),
    redirect: 'manual',
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // A non-JSON answer is kept as text.
  }
  return { status: res.status, body };
}
