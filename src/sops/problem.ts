/**
 * What goes wrong while decrypting a SOPS file, as data: a code from the error catalogue, a
 * message and a fix that never contain a decrypted value or a key, and where in the file.
 * Thrown inside src/sops/ and turned into a result at its edge (decrypt.ts).
 */
import type { ErrorCode } from '../errors.js';

export type SopsErrorCode = Extract<
  ErrorCode,
  'SC7001' | 'SC7002' | 'SC7003' | 'SC7004' | 'SC7005' | 'SC7006' | 'SC7007' | 'SC7008'
>;

export interface SopsProblem {
  code: SopsErrorCode;
  message: string;
  fix: string;
  /** Offset in the file's text, when the problem has a place. */
  offset?: number;
  /** The field, as a path, e.g. `sops.mac` or `stringData.password`. */
  field?: string;
}

export class SopsFailure extends Error {
  constructor(readonly problem: SopsProblem) {
    super(problem.message);
    this.name = 'SopsFailure';
  }
}

export function fail(problem: SopsProblem): never {
  throw new SopsFailure(problem);
}
