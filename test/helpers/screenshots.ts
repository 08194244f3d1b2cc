/**
 * Where the browser tests put their screenshots: docs/images/ when SC_UPDATE_SCREENSHOTS=1 asks
 * for it (to refresh docs/dashboard.md's pictures, DEVELOPERS.md "Screenshots"), otherwise a
 * temporary directory removed at the end, so a normal run (CI included) leaves the tree clean.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './repo.js';

export interface ScreenshotDir {
  dir: string;
  /** True when the screenshots go into docs/images/. */
  updatesDocs: boolean;
  /** Removes a temporary directory; leaves docs/images/ alone. */
  done(): void;
}

export function screenshotDir(): ScreenshotDir {
  const updatesDocs = process.env.SC_UPDATE_SCREENSHOTS === '1';
  const dir = updatesDocs ? join(repoRoot, 'docs/images') : mkdtempSync(join(tmpdir(), 'sc-screenshots-'));
  mkdirSync(dir, { recursive: true });
  return { dir, updatesDocs, done: () => (updatesDocs ? undefined : rmSync(dir, { recursive: true, force: true })) };
}
