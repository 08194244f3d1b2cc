/**
 * Keeps credentials out of anything printed: the `user:pass@` (or `token@`) part of a URL is
 * replaced with `***@`, both in URLs and in free text such as git's error output.
 * SSH user names (`ssh://git@host`, `git@host:org/repo`) are not secrets and are kept.
 */

const urlUserinfo = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s'"]+)@/gi;

function redactMatch(_match: string, scheme: string, userinfo: string): string {
  const isSsh = /^(ssh|git\+ssh|ssh\+git):\/\/$/i.test(scheme);
  if (isSsh && !userinfo.includes(':')) return `${scheme}${userinfo}@`;
  return `${scheme}***@`;
}

/** The URL with its credentials replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(urlUserinfo, redactMatch);
}

/** The secrets a URL carries (its userinfo, raw and percent-decoded), to scrub from any text. */
export function secretsOf(url: string): string[] {
  const secrets = new Set<string>();
  for (const m of url.matchAll(urlUserinfo)) {
    const userinfo = m[2];
    const colon = userinfo.indexOf(':');
    const parts = colon >= 0 ? [userinfo, userinfo.slice(colon + 1)] : [userinfo];
    for (const p of parts) {
      if (p.length < 3) continue; // too short to scrub without mangling ordinary text
      secrets.add(p);
      try {
        secrets.add(decodeURIComponent(p));
      } catch {
        // not valid percent-encoding: the raw form is enough
      }
    }
  }
  return [...secrets];
}

/** Text with every URL's credentials and every known secret replaced by `***`. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(urlUserinfo, redactMatch);
  for (const s of secrets) {
    if (s.length >= 3) out = out.split(s).join('***');
  }
  return out;
}
