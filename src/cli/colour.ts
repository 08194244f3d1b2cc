/**
 * Whether output is coloured, decided once per command line: never with --no-color; always
 * with FORCE_COLOR set to anything but "0" or "false" (CI logs, `| less -R`); never with
 * NO_COLOR set to anything non-empty (no-color.org); otherwise only when stdout is a terminal.
 * And the few SGR codes the tables and diffs use. Pure.
 */
import type { Env } from './flag-table.js';

export function useColour(isTty: boolean, noColorFlag: boolean, env: Env): boolean {
  if (noColorFlag) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '0' && force !== 'false') return true;
  if (env.NO_COLOR) return false;
  return isTty;
}

export interface Paint {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

const sgr = (code: number) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const plain = (s: string) => s;

export function paint(colour: boolean): Paint {
  return colour
    ? { red: sgr(31), green: sgr(32), yellow: sgr(33), cyan: sgr(36), bold: sgr(1), dim: sgr(2) }
    : { red: plain, green: plain, yellow: plain, cyan: plain, bold: plain, dim: plain };
}

/** The visible width of a string that may carry SGR codes. */
export const visibleLength = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
