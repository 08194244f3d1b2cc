/**
 * `controller run --notifications FILE`: the receivers of the root apply set's notifications (the
 * ends of its progressive rollouts), a YAML file holding the same object as an App's
 * `spec.notifications` (docs/notifications.md). Read once at start; every mistake is reported
 * at once as SC8001 with the file, line and field, and the controller does not start.
 */
import { readFileSync } from 'node:fs';
import { diagnostic, formatDiagnostic, sortDiagnostics, TerminalError } from '../errors.js';
import { parseDocuments } from '../manifest/yaml-documents.js';
import { compileNotifications, type NotificationsConfig } from '../notify/config.js';

export function loadNotificationsFile(path: string): NotificationsConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TerminalError(
      'SC9001',
      `--notifications ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a YAML file with the receivers (docs/notifications.md)`,
    );
  }
  const parsed = parseDocuments({ path, text });
  const docs = parsed.documents.filter((d) => d.value !== null && d.value !== undefined);
  const problems = [...parsed.diagnostics];
  if (!problems.length && docs.length !== 1)
    problems.push(
      diagnostic('SC8001', `the file holds ${docs.length} YAML documents; it must hold one: the notifications object`, {
        position: { file: path, line: 1, column: 1 },
        fix: "write one mapping with repeatInterval, queueSize and receivers, as under an App's spec.notifications",
      }),
    );
  if (problems.length) throw failure(path, problems);
  const doc = docs[0];
  const compiled = compileNotifications(doc.value, {
    field: 'notifications',
    position: (field) => doc.positionOf(fieldPath(field).slice(1)),
  });
  if (!compiled.config) throw failure(path, compiled.problems);
  return compiled.config;
}

function failure(path: string, problems: Parameters<typeof sortDiagnostics>[0]): TerminalError {
  return new TerminalError(
    'SC8001',
    `--notifications ${path}: ${problems.length} problem(s); the controller does not start with them:\n${sortDiagnostics(problems).map(formatDiagnostic).join('\n')}`,
  );
}

/** "notifications.receivers[0].url" -> ["notifications", "receivers", 0, "url"] */
function fieldPath(field: string): (string | number)[] {
  return field
    .split(/\.|(?=\[)/)
    .filter(Boolean)
    .map((p) => (/^\[\d+\]$/.test(p) ? Number(p.slice(1, -1)) : p));
}
