/**
 * A second line of defence for decrypted values: text that passes through `redact` has every
 * occurrence of a decrypted string (as written, and as JSON escapes it) replaced, whatever
 * printed it (an engine error echoing a spec, a diagnostic, a log line). Plans are masked by
 * field first (src/plan/render-mask.ts); this catches what no field mask foresaw. Strings
 * shorter than minLength are left alone: they would mask unrelated text and are not secrets
 * anyone could recognise out of context.
 */
import { Writable } from 'node:stream';

export const redactedMark = '(encrypted value)';
const minLength = 4;

export class SensitiveValues {
  private readonly forms = new Set<string>();

  add(value: unknown): void {
    if (typeof value !== 'string' || value.length < minLength) return;
    this.forms.add(value);
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) this.forms.add(escaped);
    for (const line of value.split('\n')) if (line.trim().length >= 8) this.forms.add(line); // a multi-line value shown line by line
  }

  get size(): number {
    return this.forms.size;
  }

  redact(text: string): string {
    if (this.forms.size === 0 || text.length < minLength) return text;
    let out = text;
    for (const form of [...this.forms].sort((a, b) => b.length - a.length))
      if (out.includes(form)) out = out.split(form).join(redactedMark);
    return out;
  }
}

/** A stream for the JSON logger: each line redacted, then written to `to` (stderr). */
export function redactingStream(values: SensitiveValues, to: NodeJS.WritableStream = process.stderr): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      to.write(values.redact(chunk.toString()));
      done();
    },
  });
}
