import { InvalidRequestError } from '../../api';

const MAX_PATH = 1024;
/** NAME_MAX of the usual Linux file systems, in UTF-8 bytes: a longer name can only fail at the agent. */
const MAX_SEGMENT_BYTES = 255;
/** Characters that NFKC folds into '.', '/' or '\' are normalised first; these must never remain. */
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;
/** The query parser turns bytes that are not UTF-8 (overlong "%c0%ae" …) into U+FFFD: refuse, don't guess. */
const REPLACEMENT = /\ufffd/;

/**
 * Turns a client-supplied path into a clean path relative to the server root, or refuses it.
 * Runs before any call to the agent: `..`, drive letters, NUL, backslashes, percent-encoded
 * and Unicode look-alike tricks are all 400. A leading '/' is the server root (Pterodactyl
 * clients send "/world"); no path at all is 400. Root is "".
 */
export function confinePath(raw: unknown): string {
  if (raw === undefined || raw === null || raw === '') throw refuse('path is required ("/" is the server root)');
  if (typeof raw !== 'string') throw refuse('path must be a single string');
  if (raw.length > MAX_PATH) throw refuse(`path longer than ${MAX_PATH} characters`);
  if (REPLACEMENT.test(raw)) throw refuse('path is not valid UTF-8');
  let path = raw;
  // Decode until stable: "%252e%252e" is "..", just wrapped twice.
  for (let i = 0; i < 3 && /%[0-9a-f]{2}/i.test(path); i++) {
    try {
      path = decodeURIComponent(path);
    } catch {
      throw refuse('path has a malformed percent-encoding');
    }
  }
  if (/%[0-9a-f]{2}/i.test(path)) throw refuse('path is encoded too many times');
  path = path.normalize('NFKC');
  if (FORBIDDEN.test(path)) throw refuse('path contains control characters or backslashes');
  path = path.replace(/^\/+/, '');
  if (/^[a-z]:/i.test(path) || path.startsWith('~')) throw refuse('path must lie under the server root');
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..' || /^\.{2,}$/.test(segment.trim())) throw refuse('path may not leave the server root');
    if (segment !== segment.trim()) throw refuse('path segments may not start or end with spaces');
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) throw refuse(`path segments may not exceed ${MAX_SEGMENT_BYTES} bytes`);
    segments.push(segment);
  }
  return segments.join('/');
}

function refuse(reason: string): InvalidRequestError {
  return new InvalidRequestError('Invalid path', { fields: [{ path: 'query.path', message: reason }] });
}
