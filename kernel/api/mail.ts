import { escapeHtml } from './services';
import type { RenderedNotification } from './services';

/** A value of the data as one line of text: control characters (but tab) dropped, never "undefined". */
export const field = (data: Record<string, unknown>, key: string, fallback = ''): string =>
  String(data[key] ?? fallback).replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '');

/**
 * One mail: a plain-text body and the same as HTML. `parts` are paragraphs of text; values put in
 * with `{}` markers are escaped in the HTML, the rest is ours. A `pre` part is a block of lines.
 */
export interface MailPart { text: string; pre?: boolean; link?: string }
export function renderMail(subject: string, parts: MailPart[]): RenderedNotification {
  const text = parts.map((p) => (p.link ? `${p.text}\n${p.link}` : p.text)).join('\n\n');
  const body = parts.map((p) => {
    if (p.pre) return `<pre style="background:#f4f4f4;padding:8px">${escapeHtml(p.text)}</pre>`;
    const para = escapeHtml(p.text).replace(/\n/g, '<br>');
    return p.link ? `<p>${para}<br><a href="${escapeHtml(p.link)}">${escapeHtml(p.link)}</a></p>` : `<p>${para}</p>`;
  }).join('\n');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>` +
    `<body style="font-family:sans-serif">\n${body}\n</body></html>`;
  return { subject, text, html };
}

