/**
 * The commands: validate, plan (= apply --dry-run), apply, version. Each returns its exit
 * code; nothing here decides what changes (plan/) or how they are written (apply/).
 */
import type { CallCounts, ImageRegistry, SwarmAccess } from '../api/swarm-access.js';
import type { LiveState } from '../api/swarm-types.js';
import { waitForConvergence, type ConvergenceTarget } from '../apply/convergence.js';
import { applyRetries, executePlan } from '../apply/execute-plan.js';
import { resolveImages, type ImageProblem } from '../apply/resolve-images.js';
import { refId, refLabel } from '../api/object-ref.js';
import { collectOldVersions } from '../apply/data-versions.js';
import { diagnostic, formatDiagnostic, TerminalError, type Diagnostic } from '../errors.js';
import { loadManifests, type LoadedManifests, type LoadOptions } from '../manifest/load.js';
import { encryptedFields, sensitiveValues } from '../manifest/sops-documents.js';
import { readVariables } from '../manifest/variable-files.js';
import { secretVariableValues } from '../manifest/variables.js';
import { buildPlan } from '../plan/build-plan.js';
import { renderHuman, renderJson } from '../plan/render.js';
// Not sops/index.js, which loads the decryption code (src/manifest/sops-documents.ts loads it
// for an encrypted file).
import { ageKeyLoader } from '../sops/key-sources.js';
import { redactingStream, type SensitiveValues } from '../sops/redact.js';
import type { EngineSelection } from '../swarm/endpoint.js';
import type { CliOptions } from './args.js';
import { engineSelection } from './engine-selection.js';
import { jsonProgress, textProgress } from './progress.js';

export interface CommandIo {
  out(s: string): void;
  err(s: string): void;
  readStdin?: () => Promise<Buffer>;
  /** Connects to the Swarm; replaced in tests. */
  connect(selection: EngineSelection): Promise<ConnectedSwarm>;
}

/** What a command gets from connect: the Swarm, its registry lookups, and how it was reached. */
export type ConnectedSwarm = SwarmAccess & ImageRegistry & { describe(): string; calls?: CallCounts };

export const exitCodes = { ok: 0, error: 1, changes: 2 } as const;

export { engineSelection };

/** Every command that talks to an engine says which, and how it was chosen (on stderr: stdout stays data). */
export function announceEngine(io: Pick<CommandIo, 'err'>, swarm: { describe(): string }): void {
  io.err(`Engine: ${swarm.describe()}\n`);
}

/** Age keys for SOPS-encrypted manifests: --age-key-file, then SOPS's own variables and default file. */
function loadOptions(options: CliOptions): LoadOptions {
  return { sops: { identities: ageKeyLoader(options.ageKeyFile ? { files: [options.ageKeyFile] } : {}) } };
}

/**
 * The manifests with their variables (--var, --var-file, --secret-var-file), every problem of
 * both together, and the strings to redact from output: decrypted values, values that hold a
 * secret variable, and the secret variables' own values.
 */
async function loadWithVariables(
  options: CliOptions,
  io: CommandIo,
): Promise<{ loaded: LoadedManifests; secrets: SensitiveValues }> {
  const read = await readVariables(options.variables);
  const loaded = await loadManifests(options.files, io.readStdin, {
    ...loadOptions(options),
    variables: read.variables,
  });
  const secrets = sensitiveValues(loaded.sources.values());
  for (const value of secretVariableValues(read.variables)) secrets.add(value);
  const diagnostics = read.diagnostics.length ? [...read.diagnostics, ...loaded.diagnostics] : loaded.diagnostics;
  return { loaded: { ...loaded, diagnostics }, secrets };
}

/** The same io, with every decrypted string redacted from what it prints (a second line of defence). */
function redacting(io: CommandIo, values: SensitiveValues): CommandIo {
  if (values.size === 0) return io;
  return Object.assign(Object.create(io) as CommandIo, {
    out: (s: string) => io.out(values.redact(s)),
    err: (s: string) => io.err(values.redact(s)),
  });
}

/** Connects and reads the live state; the promise is settled (and handled) even when unused. */
function readSwarm(io: CommandIo, options: CliOptions): Promise<{ swarm: ConnectedSwarm; live: LiveState }> {
  const reading = io
    .connect(engineSelection(options))
    .then(async (swarm) => ({ swarm, live: await swarm.readLiveState() }));
  reading.catch(() => undefined);
  return reading;
}

async function load(
  options: CliOptions,
  io: CommandIo,
): Promise<{ loaded: LoadedManifests; secrets: SensitiveValues } | undefined> {
  if (options.files.length === 0)
    throw new TerminalError('SC9001', 'no manifests given; pass -f PATH (a file, a directory or - for stdin)');
  const { loaded, secrets } = await loadWithVariables(options, io);
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  printDiagnostics(loaded.diagnostics, options, redacting(io, secrets));
  return errors.length ? undefined : { loaded, secrets };
}

/** A registry problem, reported at the `image:` line of every manifest that names the image. */
function imageDiagnostics(ps: ImageProblem[], severity: Diagnostic['severity'], loaded: LoadedManifests): Diagnostic[] {
  return ps.flatMap((p) =>
    p.services.map((ref) => {
      const position = loaded.sources.get(refId(ref))?.positionOf(['spec', 'image']);
      return diagnostic('SC5008', p.error.message, {
        severity,
        object: refLabel(ref),
        field: 'spec.image',
        fix: p.error.fix,
        ...(position ? { position } : {}),
      });
    }),
  );
}

function printDiagnostics(ds: Diagnostic[], options: CliOptions, io: CommandIo): void {
  if (ds.length === 0) return;
  if (options.output === 'json' && options.command === 'validate') return;
  for (const d of ds) io.err(formatDiagnostic(d) + '\n');
  const errors = ds.filter((d) => d.severity === 'error').length;
  if (errors) io.err(`${errors} problem${errors === 1 ? '' : 's'} found; nothing was sent to the Swarm.\n`);
}

export async function validateCommand(options: CliOptions, io: CommandIo): Promise<number> {
  if (options.files.length === 0)
    throw new TerminalError('SC9001', 'no manifests given; pass -f PATH (a file, a directory or - for stdin)');
  const { loaded, secrets } = await loadWithVariables(options, io);
  io = redacting(io, secrets);
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (options.output === 'json') {
    io.out(
      JSON.stringify(
        { valid: errors.length === 0, documents: loaded.documentCount, diagnostics: loaded.diagnostics },
        null,
        2,
      ) + '\n',
    );
    return errors.length ? exitCodes.error : exitCodes.ok;
  }
  printDiagnostics(loaded.diagnostics, options, io);
  if (errors.length === 0) {
    const d = loaded.desired;
    const n = d.networks.length + d.services.length + d.routes.length;
    const count = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
    io.out(
      `${loaded.documentCount} document${loaded.documentCount === 1 ? '' : 's'} valid: ${count(d.networks.length, 'network')}, ${count(d.services.length, 'service')}, ${count(d.routes.length, 'route')} (${n} objects).\n`,
    );
  }
  return errors.length ? exitCodes.error : exitCodes.ok;
}

export async function planOrApplyCommand(options: CliOptions, io: CommandIo): Promise<number> {
  if (options.files.length === 0)
    throw new TerminalError('SC9001', 'no manifests given; pass -f PATH (a file, a directory or - for stdin)');
  // Reading the Swarm only reads, so it runs while the manifests load and validate (the engine
  // works while Node parses); its errors surface below, after the manifests are known good.
  const reading = readSwarm(io, options);
  const read = await load(options, io);
  if (!read) {
    reading.catch(() => undefined);
    return exitCodes.error;
  }
  const { loaded, secrets } = read;
  io = redacting(io, secrets);
  const { swarm, live } = await reading;
  const progress =
    options.logFormat === 'json'
      ? jsonProgress(
          (await import('../log.js')).createLogger(secrets.size ? { destination: redactingStream(secrets) } : {}),
        )
      : textProgress((s) => io.err(s));
  const images = await resolveImages(loaded.desired, live.services, options.resolveImage, swarm);
  for (const d of imageDiagnostics(images.warnings, 'warning', loaded)) progress.diagnostic(d);
  if (images.problems.length) {
    for (const d of imageDiagnostics(images.problems, 'error', loaded)) progress.diagnostic(d);
    io.err(
      `${images.problems.length} image${images.problems.length === 1 ? '' : 's'} refused by the registry; nothing was sent to the Swarm.\n`,
    );
    return exitCodes.error;
  }
  const desired = images.desired;
  const plan = buildPlan(desired, live, {
    applySet: options.applySet,
    prune: options.prune,
    allowReplace: options.allowReplace,
    adopt: options.adopt,
    maxDeletions: options.maxDeletions,
    force: options.force,
  });
  const dryRun = options.command === 'plan' || options.dryRun;
  // Shown with secret-looking env values, SOPS-encrypted fields and secret variables masked; `plan` is executed.
  const masking = { maskEnv: options.maskEnv, encrypted: encryptedFields(loaded.sources) };
  if (options.output === 'json') {
    progress.engine(swarm.describe());
    io.out(renderJson(plan, masking));
  } else {
    if (dryRun || plan.changes.length || plan.blockers.length)
      io.out(`Apply set "${plan.applySet}" on ${swarm.describe()}\n\n`);
    else progress.engine(swarm.describe());
    io.out(renderHuman(plan, { ...masking, color: options.color }));
  }
  if (plan.blockers.length) {
    if (!dryRun)
      io.err(
        `Nothing was applied: the plan has ${plan.blockers.length} blocker${plan.blockers.length === 1 ? '' : 's'} (listed above).\n`,
      );
    return exitCodes.error;
  }
  if (dryRun) return plan.changes.length ? exitCodes.changes : exitCodes.ok;
  if (plan.changes.length === 0) {
    progress.summary({ changes: 0, failed: 0, notConverged: 0, calls: swarm.calls });
    return exitCodes.ok;
  }

  progress.line(
    `\nApplying ${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'} (concurrency ${options.concurrency}):`,
  );
  const outcomes = await executePlan(plan, swarm, {
    retry: applyRetries,
    concurrency: options.concurrency,
    timeoutMs: options.timeoutMs,
    reporter: progress,
    ...(options.revision ? { revision: options.revision } : {}),
  });
  const failed = outcomes.filter((o) => o.status !== 'succeeded');
  let notConverged = 0;
  if (options.wait) {
    const targets: ConvergenceTarget[] = outcomes
      .filter(
        (o) =>
          o.status === 'succeeded' && o.change.kind === 'Service' && o.change.action !== 'delete' && o.result?.specHash,
      )
      .map((o) => ({
        id: o.change.id,
        swarmName: o.change.swarmName,
        specHash: o.result!.specHash!,
        ...(o.result!.writtenAt ? { writtenAt: o.result!.writtenAt } : {}),
        ...(o.result!.awaitUpdate ? { awaitUpdate: true } : {}),
      }));
    if (targets.length) {
      progress.line(
        `Waiting for ${targets.length} service${targets.length === 1 ? '' : 's'} to converge (timeout ${Math.round(options.timeoutMs / 1000)}s):`,
      );
      const reported = new Set<string>();
      const results = await waitForConvergence(targets, swarm, {
        timeoutMs: options.timeoutMs,
        onProgress: (done) => {
          for (const r of done)
            if (!reported.has(r.id)) {
              reported.add(r.id);
              progress.converged(r);
            }
        },
      });
      notConverged = results.filter((r) => r.status !== 'converged').length;
    }
  }
  if (!failed.length) {
    const collected = await collectOldVersions(swarm, options.applySet, [
      ...loaded.desired.configs,
      ...loaded.desired.secrets,
    ]);
    if (collected.removed.length)
      progress.line(
        `Removed ${collected.removed.length} old config/secret version${collected.removed.length === 1 ? '' : 's'} no service uses: ${collected.removed.join(', ')}`,
      );
  }
  const ok = outcomes.length - failed.length;
  progress.line(
    `\nApply ${failed.length || notConverged ? 'FAILED' : 'complete'}: ${ok} of ${outcomes.length} changes applied${failed.length ? `, ${failed.length} failed or skipped` : ''}${options.wait ? `, ${notConverged} service${notConverged === 1 ? '' : 's'} not converged` : ''}.`,
  );
  progress.summary({ changes: outcomes.length, failed: failed.length, notConverged, calls: swarm.calls });
  return failed.length || notConverged ? exitCodes.error : exitCodes.ok;
}
