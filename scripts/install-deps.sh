#!/usr/bin/env bash
# Install what swarm-controller needs on a fresh Debian 12 machine (run as root).
# Idempotent and quiet: a fast no-op when everything is already there.
#   - apt packages: docker.io iproute2 git ca-certificates debootstrap (for the local image bases,
#     and the Debian roots of the newer engines that scripts/local-swarm.sh --engine sid makes on
#     its first `up`), haproxy (the proxy agent's tests run the real binary; the service is not
#     started), openssl (the proxy's TLS tests make self-signed certificates with its CLI, and
#     local-swarm.sh the TLS certificates of the newer engines), util-linux (nsenter, unshare and
#     pivot_root start those engines in namespaces of their own), openssh-server/-client (ssh://
#     engines are tested against a real sshd in a namespace; never started as a service),
#     docker-registry + apache2-utils (private-registry tests: a real registry with htpasswd
#     logins; never started as a service), age (the SOPS tests make identities with age-keygen
#     and seal data keys with age, to prove the key format interoperates), chromium (the dashboard's
#     browser tests and benchmark drive Debian's build with playwright-core; no browser download), zsh + fish (the
#     scripts of `controller completion zsh|fish` are loaded in the real shells by a test)
#   - npm ci in the repo root when node_modules is missing or older than package-lock.json
#     (never through a node_modules that is a symbolic link: see below)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT_PACKAGES=(docker.io iproute2 git ca-certificates debootstrap haproxy openssl util-linux
              openssh-server openssh-client docker-registry apache2-utils age chromium
              zsh fish)

die() { echo "install-deps: $*" >&2; exit 1; }

# --- apt packages -----------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  [[ $EUID -eq 0 ]] || die "missing apt packages (${missing[*]}); run as root to install them"
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get (Debian expected)"
  echo "install-deps: installing ${missing[*]}" >&2
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -q >"$log" 2>&1; then
    cat "$log" >&2; die "apt-get update failed"
  fi
  if ! apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2; die "apt-get install ${missing[*]} failed"
  fi
fi

# Sanity: the binaries the scripts rely on.
for bin in dockerd docker ip git openssl debootstrap nsenter unshare pivot_root age age-keygen chromium; do
  command -v "$bin" >/dev/null || die "'$bin' not found in PATH after installing packages"
done

# --- Node and npm dependencies ----------------------------------------------
command -v node >/dev/null || die "node not found in PATH (Node >= 20 is required)"
command -v npm >/dev/null || die "npm not found in PATH"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "Node >= 20 required, found $(node --version)"

# npm ci writes node_modules/.package-lock.json; use it as the freshness marker.
# A node_modules that is a symbolic link (a git worktree sharing another checkout's) is left
# alone: npm ci empties the link's target before it replaces the link, i.e. it would wipe the
# other checkout's packages while they may be in use.
marker="$REPO/node_modules/.package-lock.json"
if [[ -L "$REPO/node_modules" ]]; then
  [[ -f "$marker" ]] || die "node_modules is a link to $(readlink -f "$REPO/node_modules"), which holds no installed packages; run npm ci there"
  cmp -s "$REPO/package-lock.json" "$(readlink -f "$REPO/node_modules")/../package-lock.json" ||
    echo "install-deps: warning: node_modules links to $(readlink -f "$REPO/node_modules"), installed from another package-lock.json; not reinstalling through the link" >&2
elif [[ ! -d "$REPO/node_modules" || ! -f "$marker" || "$REPO/package-lock.json" -nt "$marker" ]]; then
  echo "install-deps: npm ci" >&2
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  if ! (cd "$REPO" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
    cat "$log" >&2; die "npm ci failed"
  fi
fi
