/**
 * The error of a command line that cannot run: code SC9001, one line saying what is wrong
 * (with a "did you mean" where one is close), and a hint line naming the help to read.
 * main.ts prints both; nothing has touched an engine when one is thrown.
 */
import { TerminalError } from '../errors.js';

export class UsageError extends TerminalError {
  constructor(
    message: string,
    /** A second line, e.g. `See "controller plan --help".` */
    readonly hint?: string,
  ) {
    super('SC9001', message);
    this.name = 'UsageError';
  }
}

/** `"--dry-run"`, `"--dry-run" or "--prune"`, `"a", "b" or "c"`: a short list in prose. */
export function orList(items: readonly string[], word = 'or'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${word} ${items[items.length - 1]}`;
}
