/** Discord accepts at most this many characters of content per message. */
export const DISCORD_CONTENT_LIMIT = 2000;

/** Characters Discord markdown gives a meaning anywhere in a line; `<` starts mentions, channels and timestamps. */
const INLINE = /[\\*_~`|[\]()<>]/g;
/** Characters that mean something only at the start of a line: quotes, headings, list items. */
const LINE_START = /^(\s*)([#>+-]|\d+\.)/gm;

/**
 * Text as Discord shows it literally: markdown escaped, mentions (`@everyone`, `@here`,
 * `<@id>`, `<#channel>`) and masked links broken, control characters dropped. The message is
 * also posted with `allowed_mentions: { parse: [] }`, so even a missed mention pings nobody.
 */
export function neutralise(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B-\u001F\u007F\u200B-\u200F\u2028-\u202E\u2060-\u2064]/g, '')
    .replace(INLINE, (c) => `\\${c}`)
    .replace(LINE_START, (_m, space: string, mark: string) => `${space}\\${mark}`)
    .replace(/@(everyone|here)/gi, '@\u200b$1');
}

/** Bold title and body, each neutralised, cut to Discord's limit. */
export function discordContent(subject: string, text: string): string {
  const content = `**${neutralise(subject)}**\n${neutralise(text)}`;
  return content.length <= DISCORD_CONTENT_LIMIT ? content : `${content.slice(0, DISCORD_CONTENT_LIMIT - 1)}…`;
}
