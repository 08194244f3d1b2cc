/**
 * Keeps secrets out of what the notifier logs and reports: every token, HMAC key and secret URL
 * a delivery used is registered, and every text that leaves the notifier (error messages,
 * response excerpts) is scrubbed of them, in plain and URL-encoded spelling. Receiver URLs are
 * shown by origin only (https://hooks.slack.com), since their path often is the secret.
 */

const censor = '(redacted)';

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers a secret; for a URL, also its path and query, which hold the secret part. */
  add(secret: string | undefined, options: { url?: boolean } = {}): void {
    if (!secret || secret.length < 4) return;
    this.secrets.add(secret);
    this.secrets.add(encodeURIComponent(secret));
    if (options.url) {
      try {
        const u = new URL(secret);
        const rest = `${u.pathname}${u.search}`;
        if (rest.length > 1) this.secrets.add(rest);
        if (u.password) this.secrets.add(u.password);
      } catch {
        // not a URL: the whole text is registered already
      }
    }
  }

  scrub(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is replaced whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join(censor);
    return out;
  }
}

/** "https://hooks.slack.com" from a full URL; "(unparsable URL)" when it is not one. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(unparsable URL)';
  }
}
