/** A logger whose JSON lines are kept in memory, for tests that assert log records (parsed, not as substrings). */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

export interface RecordingLogger {
  log: Logger;
  /** Every line written so far, parsed. */
  records(): Record<string, unknown>[];
  /** Every line written so far, as text (to check that a value appears nowhere). */
  text(): string;
}

export function recordingLogger(level = 'info'): RecordingLogger {
  const lines: string[] = [];
  const log = createLogger({
    level,
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    }),
  });
  return {
    log,
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}
