/**
 * The root pino logger. JSON lines on stderr; values under secret-looking keys are redacted
 * as a second line of defence (plans and progress mask secret env values before logging).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export const redactedPaths = [
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { name: 'swarm-controller' },
      redact: { paths: redactedPaths, censor: '(redacted)' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (options.destination ?? pino.destination({ fd: 2, sync: true })) as never,
  );
}
