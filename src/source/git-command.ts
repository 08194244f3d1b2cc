/**
 * Runs git (and the `git archive | tar -x` pipe) for the git source: no shell, a timeout that
 * kills the whole process group (helpers such as git-remote-https and ssh included), no
 * terminal prompts (GIT_TERMINAL_PROMPT=0 and no controlling terminal), no hooks, no detached
 * background gc, and stderr with credentials redacted; a private source's credential adds its
 * environment (GIT_SSH_COMMAND, no system or global config) and `-c` options (the token's
 * credential helper), from git-auth.ts. Nothing else in src/source/ spawns.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { redactText } from './redact.js';

export interface GitContext {
  /** Working directory of every git process. */
  cwd: string;
  timeoutMs: number;
  /** Adds `-c protocol.file.allow=always` (file:// URLs and local paths). */
  fileProtocol: boolean;
  /** Strings scrubbed from error output (URL credentials, the token). */
  secrets: readonly string[];
  /** Environment for git (a credential's GIT_SSH_COMMAND, isolated configuration). */
  env?: Readonly<Record<string, string>>;
  /** More `-c name=value` options (the token's credential helper). */
  config?: readonly string[];
}

/** A git (or tar) process failed; `message` is one line, redacted. */
export class GitFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'GitFailure';
  }
}

/** Environment variables that would point git at another repository or index. */
const inheritedRepoVariables = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM',
];

function gitEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of inheritedRepoVariables) delete env[name];
  env.GIT_TERMINAL_PROMPT = '0';
  env.GCM_INTERACTIVE = 'never';
  env.LC_ALL = 'C';
  return { ...env, ...extra };
}

function gitConfig(ctx: GitContext): string[] {
  const config = [
    '-c',
    'core.hooksPath=/dev/null',
    '-c',
    'gc.autoDetach=false',
    '-c',
    'maintenance.autoDetach=false',
    '-c',
    'log.showSignature=false',
    '-c',
    'credential.interactive=false',
  ];
  if (ctx.fileProtocol) config.push('-c', 'protocol.file.allow=always');
  if (ctx.config) config.push(...ctx.config);
  return config;
}

interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  spawnError?: NodeJS.ErrnoException;
}

const maxCapture = 64 * 1024 * 1024;
const maxStderr = 64 * 1024;

interface Started {
  child: ChildProcess;
  done: Promise<ProcessResult>;
  kill(): void;
}

/**
 * Starts a process in its own process group (no controlling terminal, so nothing can prompt)
 * and collects its stderr, and its stdout unless `pipeStdout` (then the caller reads it).
 */
function start(
  command: string,
  args: string[],
  cwd: string,
  options: { stdin: 'ignore' | 'pipe'; pipeStdout: boolean; env?: Readonly<Record<string, string>> },
): Started {
  const child = spawn(command, args, {
    cwd,
    env: gitEnv(options.env),
    stdio: [options.stdin, 'pipe', 'pipe'],
    detached: true,
    windowsHide: true,
  });
  const kill = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
  };
  const done = new Promise<ProcessResult>((resolve) => {
    const out: Buffer[] = [];
    let outSize = 0;
    let err = '';
    let spawnError: NodeJS.ErrnoException | undefined;
    if (!options.pipeStdout) {
      child.stdout!.on('data', (chunk: Buffer) => {
        outSize += chunk.length;
        if (outSize <= maxCapture) out.push(chunk);
      });
    }
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
      if (err.length > maxStderr) err = err.slice(-maxStderr);
    });
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: err, timedOut: false, spawnError });
    });
  });
  return { child, done, kill };
}

/** Races a process against the timeout, killing its group when time is up. */
async function withTimeout(
  started: Started[],
  timeoutMs: number,
): Promise<{ results: ProcessResult[]; timedOut: boolean }> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    for (const s of started) s.kill();
  }, timeoutMs);
  try {
    const results = await Promise.all(started.map((s) => s.done));
    return { results, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** The lines of git's stderr worth showing, on one line, redacted. */
export function summariseStderr(stderr: string, secrets: readonly string[]): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^hint:/.test(l));
  const text = redactText(lines.join('; '), secrets);
  return text.length > 600 ? `${text.slice(0, 600)}...` : text;
}

function failure(what: string, result: ProcessResult, timedOut: boolean, ctx: GitContext): GitFailure {
  const stderr = redactText(result.stderr, ctx.secrets);
  if (result.spawnError) {
    const reason =
      result.spawnError.code === 'ENOENT'
        ? `${what.split(' ')[0]} is not installed (not found in PATH)`
        : `cannot run ${what}: ${result.spawnError.message}`;
    return new GitFailure(reason, null, stderr, false);
  }
  if (timedOut) {
    return new GitFailure(`${what} timed out after ${ctx.timeoutMs / 1000}s`, result.code, stderr, true);
  }
  const detail = summariseStderr(result.stderr, ctx.secrets);
  const status = result.signal ? `killed by ${result.signal}` : `exit ${result.code}`;
  return new GitFailure(
    detail ? `${what} failed (${status}): ${detail}` : `${what} failed (${status})`,
    result.code,
    stderr,
    false,
  );
}

/** Runs `git <args>` and returns its stdout; throws GitFailure on a non-zero exit or timeout. */
export async function runGit(args: string[], ctx: GitContext): Promise<string> {
  const started = start('git', [...gitConfig(ctx), ...args], ctx.cwd, {
    stdin: 'ignore',
    pipeStdout: false,
    ...(ctx.env ? { env: ctx.env } : {}),
  });
  const { results, timedOut } = await withTimeout([started], ctx.timeoutMs);
  const result = results[0];
  if (timedOut || result.spawnError || result.code !== 0)
    throw failure(`git ${subcommand(args)}`, result, timedOut, ctx);
  return result.stdout;
}

/** `git --git-dir=<gitDir> archive --format=tar <commit> | tar -x -C <into>`, under one timeout. */
export async function archiveInto(gitDir: string, commit: string, into: string, ctx: GitContext): Promise<void> {
  const git = start('git', [...gitConfig(ctx), `--git-dir=${gitDir}`, 'archive', '--format=tar', commit], ctx.cwd, {
    stdin: 'ignore',
    pipeStdout: true,
  });
  const tar = start('tar', ['-x', '-f', '-', '--no-same-owner', '-C', into], ctx.cwd, {
    stdin: 'pipe',
    pipeStdout: false,
  });
  git.child.stdout!.pipe(tar.child.stdin!);
  // If tar dies early, git gets EPIPE; don't let that surface as an unhandled error.
  tar.child.stdin!.on('error', () => undefined);
  git.child.stdout!.on('error', () => undefined);
  void git.done.then((r) => {
    if (r.code !== 0) tar.kill();
  });
  const { results, timedOut } = await withTimeout([git, tar], ctx.timeoutMs);
  const [gitResult, tarResult] = results as [ProcessResult, ProcessResult];
  const gitFailed = gitResult.spawnError !== undefined || gitResult.code !== 0;
  const tarFailed = tarResult.spawnError !== undefined || tarResult.code !== 0;
  if (timedOut) throw failure('git archive', gitResult, true, ctx);
  // git killed by SIGPIPE means tar stopped reading: tar's error is the real one.
  if (tarFailed && (!gitFailed || gitResult.signal === 'SIGPIPE')) throw failure('tar -x', tarResult, false, ctx);
  if (gitFailed) throw failure('git archive', gitResult, false, ctx);
}

function subcommand(args: string[]): string {
  return args.find((a) => !a.startsWith('-')) ?? 'command';
}
