import pino, { type Logger } from 'pino';

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'zpack', ...base },
    redact: { paths: ['*.password', '*.token', '*.refreshToken', '*.accessToken', 'req.headers.authorization'], censor: '[redacted]' },
  });
}
