/**
 * Bounds what one load reports: at most maxDiagnosticsPerFile problems per file, then one
 * SC1010 line saying how many more there are. A generated or corrupted file can hold
 * hundreds of thousands of problems; printing them all helps nobody and costs memory and
 * time. Pure.
 */
import { diagnostic, type Diagnostic } from '../errors.js';

export const maxDiagnosticsPerFile = 100;

/** `ds` sorted by file (sortDiagnostics); returns them with each file's excess replaced by one summary. */
export function limitDiagnostics(ds: Diagnostic[], perFile = maxDiagnosticsPerFile): Diagnostic[] {
  const out: Diagnostic[] = [];
  const counts = new Map<string, number>();
  const firstOmitted = new Map<string, Diagnostic>();
  for (const d of ds) {
    const file = d.position?.file ?? '';
    const n = (counts.get(file) ?? 0) + 1;
    counts.set(file, n);
    if (n <= perFile) out.push(d);
    else if (!firstOmitted.has(file)) firstOmitted.set(file, d);
  }
  for (const [file, first] of firstOmitted) {
    const more = counts.get(file)! - perFile;
    out.push(
      diagnostic(
        'SC1010',
        `${more} more problem${more === 1 ? '' : 's'} in this file not shown (only the first ${perFile} are)`,
        {
          ...(first.position ? { position: first.position } : {}),
          fix: 'fix the problems shown and run again; this many usually means a generated or corrupted file, or the wrong file',
        },
      ),
    );
  }
  return out;
}
