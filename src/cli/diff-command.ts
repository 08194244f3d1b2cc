/**
 * `controller diff -f PATH`: for every object of the manifests whose live spec differs, a
 * unified diff of the manifest view ("-" live, "+" manifest). The plan decides what differs
 * (the same normalisation as `plan`, without pruning and without asking a registry); this
 * renders the masked models it carries. A secret-looking env value that changed shows as
 * "(sensitive)" against "(sensitive, changed)", never as its value; SOPS-encrypted fields are
 * masked as `plan` masks them. Exit 0 no differences, 2 differences, 1 an error.
 */
import { TerminalError } from '../errors.js';
import { loadManifests } from '../manifest/load.js';
import { encryptedFields, sensitiveValues } from '../manifest/sops-documents.js';
import { buildPlan } from '../plan/build-plan.js';
import { manifestView } from '../plan/manifest-view.js';
import { maskPlan, type ShownChange } from '../plan/render-mask.js';
import { unifiedDiff } from '../plan/unified-diff.js';
import { ageKeyLoader } from '../sops/index.js';
import type { CliOptions } from './args.js';
import { paint, type Paint } from './colour.js';
import { announceEngine, engineSelection, exitCodes, type CommandIo } from './commands.js';

const changedSecret = '(sensitive, changed)';

/** The env key of a masked env path (`spec.env.DB_PASSWORD`, `spec.env["A-B"]`). */
function envKey(path: string): string | undefined {
  const m = /^spec\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[("(?:[^"\\]|\\.)*")\])$/.exec(path);
  if (!m) return undefined;
  return m[1] ?? (JSON.parse(m[2]) as string);
}

/** The diff of one change, or '' when its manifest views are equal. */
export function changeDiff(c: ShownChange, colour: Paint): string {
  let after = c.after as Record<string, unknown> | null;
  const hidden = c.fields.filter((f) => f.sensitive).map((f) => envKey(f.path));
  if (after && hidden.length) {
    const env = { ...(after.env as Record<string, string>) };
    for (const k of hidden) if (k && k in env) env[k] = changedSecret;
    after = { ...after, env };
  }
  const ref = { kind: c.kind, ...(c.namespace ? { namespace: c.namespace } : {}), name: c.name };
  const text = unifiedDiff(manifestView({ ...ref, model: c.before }), manifestView({ ...ref, model: after }), {
    before: `live/${c.id}`,
    after: `manifest/${c.id}`,
  });
  return text
    .split('\n')
    .map((l) =>
      l.startsWith('---') || l.startsWith('+++')
        ? colour.bold(l)
        : l.startsWith('@@')
          ? colour.cyan(l)
          : l.startsWith('-')
            ? colour.red(l)
            : l.startsWith('+')
              ? colour.green(l)
              : l,
    )
    .join('\n');
}

export async function diffCommand(options: CliOptions, io: CommandIo): Promise<number> {
  if (options.files.length === 0)
    throw new TerminalError('SC9001', 'diff needs manifests: pass -f PATH (a file, a directory or - for stdin)');
  const loaded = await loadManifests(options.files, io.readStdin, {
    sops: { identities: ageKeyLoader(options.ageKeyFile ? { files: [options.ageKeyFile] } : {}) },
  });
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    const { formatDiagnostic } = await import('../errors.js');
    for (const d of loaded.diagnostics) io.err(formatDiagnostic(d) + '\n');
    io.err(`${errors.length} problem${errors.length === 1 ? '' : 's'} found; nothing compared.\n`);
    return exitCodes.error;
  }
  const secrets = sensitiveValues(loaded.sources.values());
  const out = (s: string) => io.out(secrets.size ? secrets.redact(s) : s);
  const swarm = await io.connect(engineSelection(options));
  announceEngine(io, swarm);
  const plan = buildPlan(loaded.desired, await swarm.readLiveState(), {
    applySet: options.applySet,
    prune: false,
    adopt: true,
    allowReplace: true,
  });
  const shown = maskPlan(plan, { maskEnv: options.maskEnv, encrypted: encryptedFields(loaded.sources) });
  const colour = paint(options.color);
  let differing = 0;
  for (const c of shown.changes) {
    const text = changeDiff(c, colour);
    if (!text) continue;
    differing++;
    out(text.endsWith('\n') ? text : text + '\n');
  }
  io.err(
    differing
      ? `${differing} object${differing === 1 ? '' : 's'} differ${differing === 1 ? 's' : ''} from the manifests.\n`
      : 'No differences: the Swarm matches the manifests.\n',
  );
  return differing ? exitCodes.changes : exitCodes.ok;
}
