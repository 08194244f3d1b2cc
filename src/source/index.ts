/**
 * Sources of desired state for the GitOps loop: a local directory or a git repository, each
 * fetched into a Snapshot (revision + directory of manifests). The public surface of
 * src/source/; import from here.
 */
export { SourceError, type DesiredSource, type Snapshot } from './types.js';
export { directorySource, manifestTreeHash } from './directory-source.js';
export { defaultGitTimeoutMs, gitSource, type GitSourceOptions } from './git-source.js';
export { keptRevisions } from './revisions.js';
export { parseSourceSpec } from './source-spec.js';
export { redactUrl } from './redact.js';
export {
  defaultGitUsername,
  defaultSshKeyFile,
  defaultSshKnownHostsFile,
  type GitCredentialFlag,
  type GitCredentialOptions,
} from './git-auth.js';
