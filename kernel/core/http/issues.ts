import type { ZodError } from 'zod';
import { InvalidRequestError } from '../../api';

/** An error answer lists this many problems; a body with thousands of them must not echo them all back. */
export const MAX_LISTED_ISSUES = 20;
const MAX_TEXT = 200;
const LISTED_KEYS = 5;

/** The 400 for a failed zod parse: the first problems, each short, and how many were left out. */
export function invalidRequest(message: string, error: ZodError, prefix: string): InvalidRequestError {
  const issues = error.issues;
  const fields = issues.slice(0, MAX_LISTED_ISSUES).map((i) => ({
    path: clip([prefix, ...i.path.map(String)].join('.')),
    message: clip(i.code === 'unrecognized_keys' ? unrecognized(i.keys) : i.message),
  }));
  const omitted = issues.length - fields.length;
  return new InvalidRequestError(message, omitted > 0 ? { fields, omittedIssues: omitted } : { fields });
}

function unrecognized(keys: string[]): string {
  const listed = keys.slice(0, LISTED_KEYS).map((k) => JSON.stringify(clip(k, 40))).join(', ');
  return keys.length > LISTED_KEYS ? `Unrecognized keys: ${listed} and ${keys.length - LISTED_KEYS} more` : `Unrecognized keys: ${listed}`;
}

function clip(text: string, max = MAX_TEXT): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
