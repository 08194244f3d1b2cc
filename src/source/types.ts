/**
 * The shared shapes of a source of desired state: the Snapshot a fetch returns, the
 * DesiredSource interface that directory and git sources implement, and SourceError, the one
 * error a source throws. No I/O here.
 */
import type { ErrorCode } from '../errors.js';

export interface Snapshot {
  /**
   * Commit SHA for git, or a content hash for a directory: the sha256 (64 hex digits) of the
   * sorted relative paths and contents of the .yaml/.yml files the manifest loader would read.
   */
  revision: string;
  /** Absolute path of the directory holding the manifests of that revision (the `path` inside the repo). Stable while the snapshot is current. */
  dir: string;
  /** For git: the commit subject line and author time; undefined for directories. */
  message?: string;
  committedAt?: string;
}

export interface DesiredSource {
  /** Fetches (git: `git fetch`) and returns the current snapshot. Throws SourceError with a clear message on failure. */
  fetch(): Promise<Snapshot>;
  /** e.g. "git file:///srv/repo.git#main:manifests" or "directory ./manifests"; never shows credentials. */
  describe(): string;
}

/**
 * A source could not produce a snapshot. `reason` is safe to print (credentials are redacted);
 * `message` is `error <code>: <reason>`, as the command line prints errors, so the code
 * reaches the sync record in /status and the log.
 */
export class SourceError extends Error {
  /** SC1101 a credential file, SC1102 an ssh host key, SC1103 credentials refused, SC1104 anything else. */
  readonly code: ErrorCode;
  readonly reason: string;
  constructor(reason: string, options: { cause?: unknown; code?: ErrorCode } = {}) {
    const code = options.code ?? 'SC1104';
    super(`error ${code}: ${reason}`, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'SourceError';
    this.code = code;
    this.reason = reason;
  }
}
