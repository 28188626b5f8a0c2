/** Control characters but tab and newline, and the invisible ones that reorder or hide text. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200F\u2028-\u202E\u2060-\u2064\uFEFF]/g;

/** Free text as stored: line ends as LF, control characters dropped, trimmed. Never interpreted. */
export function cleanText(value: string): string {
  return value.replace(/\r\n?/g, '\n').replace(CONTROL, '').trim();
}

/** One line (a subject): any line break becomes a space. */
export function cleanLine(value: string): string {
  return cleanText(value).replace(/\s*\n\s*/g, ' ');
}
