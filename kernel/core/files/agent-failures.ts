import { AgentError, ZpackError } from '../../api';

/**
 * How an agent's refusal reaches our caller. The agent's body is never relayed: it can carry host
 * paths and stack traces (ENAMETOOLONG … /srv/…/staging/…). A refusal the agent names becomes our
 * own code with a message written here; anything else is a 502 with a generic message, and the
 * agent's own answer is kept on the error for the server log only.
 */
interface KnownRefusal {
  status: number;
  message: string;
}

const KNOWN: Record<string, KnownRefusal> = {
  invalid_path: { status: 400, message: 'The path is not inside the server folder' },
  not_a_directory: { status: 400, message: 'The path is a file, not a folder' },
  is_a_directory: { status: 400, message: 'The path is a folder, not a file' },
  cannot_delete_root: { status: 400, message: 'The server folder itself cannot be deleted' },
  invalid_name: { status: 400, message: 'The backup name is not valid' },
  not_found: { status: 404, message: 'No such file, folder or backup on the server' },
  no_previous_version: { status: 404, message: 'The file has no previous version to revert to' },
  not_provisioned: { status: 409, message: 'The server is not set up on its host; it cannot do this until it is provisioned again' },
  backup_not_ready: { status: 409, message: 'The backup is not ready yet' },
  backup_in_progress: { status: 409, message: 'The backup is still being made' },
  restore_running: { status: 409, message: 'A restore is running on this server' },
  already_exists: { status: 409, message: 'Something already exists at that path' },
  unsupported_archive: { status: 400, message: 'Only .tar.gz, .tgz and .zip archives are supported' },
  unsafe_entry: { status: 400, message: 'The archive has an entry that leaves the folder (.., an absolute path or a link); nothing was unpacked' },
  unpack_too_large: { status: 400, message: 'The archive unpacks to more than may be unpacked; nothing was unpacked' },
  too_many_entries: { status: 400, message: 'The archive has more entries than may be unpacked; nothing was unpacked' },
  bad_archive: { status: 400, message: 'The archive is damaged or not of its kind; nothing was unpacked' },
  too_large: { status: 413, message: 'The file is too large to open as text; download it instead' },
  binary_file: { status: 415, message: 'The file is not text; download it instead' },
};

/** Agent refusals without a code we know keep their meaning by status; the rest are the agent's failure. */
const BY_STATUS: Record<number, { code: string; message: string }> = {
  400: { code: 'invalid_request', message: 'The server refused the request' },
  404: { code: 'not_found', message: 'Not found on the server' },
  409: { code: 'conflict', message: 'The server cannot do this now' },
  413: { code: 'payload_too_large', message: 'The body is too large for the server' },
  415: { code: 'unsupported_media_type', message: 'The server cannot take this content' },
};

/** Numbers the caller may see (a file's size and the limit it passed); no agent text is ever copied. */
const SAFE_NUMBERS = ['sizeBytes', 'limitBytes'] as const;

/** The agent's own answer, for the server log: enumerable, so the logger prints it; never in the envelope. */
export interface UpstreamAnswer {
  status: number;
  body: unknown;
}

export class AgentFailure extends ZpackError {
  constructor(code: string, status: number, message: string, details: Record<string, unknown>, readonly upstream: UpstreamAnswer) {
    super(code, status, message, details);
  }
}

/** An agent's error answer (status ≥ 400, or 0 when it never answered) as our caller should see it. */
export function agentFailure(status: number, body: unknown): AgentFailure {
  const upstream = { status, body };
  const agentCode = codeOf(body);
  const known = agentCode !== undefined && status >= 400 && status < 500 ? KNOWN[agentCode] : undefined;
  if (known) return new AgentFailure(agentCode!, known.status, known.message, { ...safeNumbers(body), agent: { status, code: agentCode } }, upstream);
  const fallback = BY_STATUS[status];
  if (fallback) return new AgentFailure(fallback.code, status, fallback.message, { agent: { status } }, upstream);
  const message = status === 0 ? 'The server\'s agent did not answer; try again shortly' : 'The server\'s agent failed; try again shortly';
  return new AgentFailure('agent_error', 502, message, { agent: { status } }, upstream);
}

/** An AgentError from an agent call, as our caller should see it; any other error is left as it is. */
export function fromAgentError(err: unknown): unknown {
  if (!(err instanceof AgentError)) return err;
  const agent = err.details.agent as Partial<UpstreamAnswer> | undefined;
  return agentFailure(agent?.status ?? 0, agent?.body);
}

function codeOf(body: unknown): string | undefined {
  const code = (body as { error?: unknown } | null)?.error;
  return typeof code === 'string' && Object.hasOwn(KNOWN, code) ? code : undefined;
}

function safeNumbers(body: unknown): Record<string, number> {
  const fields = body as Record<string, unknown>;
  return Object.fromEntries(SAFE_NUMBERS.filter((k) => Number.isSafeInteger(fields[k])).map((k) => [k, fields[k] as number]));
}
