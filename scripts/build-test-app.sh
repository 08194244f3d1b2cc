#!/usr/bin/env bash
# Build the e2e test-app image without any registry and without debootstrap:
# a rootfs holding this machine's node binary, the shared libraries it needs, and
# /app from test/fixtures/test-app, imported with `docker import`.
#
# Tags: swarm-controller/test-app:1, :2, :3 (one image, three tags, so tests can
# "change" a service's image) and swarm-controller/test-app:src-<hash12>, where the hash
# covers the fixture files, the node binary and this recipe. When that tag already exists
# and :1/:2/:3 point at it, nothing is done.
#
# Uses DOCKER_HOST from the environment (e.g. eval "$(scripts/local-swarm.sh up)").
# Multi-node tests must copy the image to the other daemons (docker save | docker load).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$REPO/test/fixtures/test-app"
IMAGE=swarm-controller/test-app
TAGS=(1 2 3)
RECIPE_VERSION=1   # bump when the rootfs recipe below changes

die() { echo "build-test-app: $*" >&2; exit 1; }

[[ -f "$SRC/server.js" ]] || die "missing $SRC/server.js"
command -v node >/dev/null || die "node not found in PATH"
NODE_BIN="$(readlink -f "$(command -v node)")"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  die "no Docker daemon answers (DOCKER_HOST=${DOCKER_HOST:-<unset>}); start one with: eval \"\$(scripts/local-swarm.sh up)\""

# --- content hash -------------------------------------------------------------
hash="$(
  {
    echo "recipe $RECIPE_VERSION"
    echo "node $NODE_BIN $(node --version) $(stat -c '%s %Y' "$NODE_BIN")"
    (cd "$SRC" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-12
)"
SRC_TAG="$IMAGE:src-$hash"

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

want="$(image_id "$SRC_TAG")"
if [[ -n "$want" ]]; then
  ok=1
  for t in "${TAGS[@]}"; do [[ "$(image_id "$IMAGE:$t")" == "$want" ]] || ok=0; done
  if ((ok)); then exit 0; fi
  # Image exists, some tag moved: just re-tag.
  for t in "${TAGS[@]}"; do docker tag "$SRC_TAG" "$IMAGE:$t"; done
  exit 0
fi

# --- rootfs -------------------------------------------------------------------
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
root="$tmp/rootfs"
mkdir -p "$root"/{usr/local/bin,etc,tmp,app}
chmod 1777 "$root/tmp"

cp "$NODE_BIN" "$root/usr/local/bin/node"

# Shared libraries from ldd, each copied (dereferenced) to the absolute path ldd shows;
# that includes the dynamic loader (e.g. /lib64/ld-linux-x86-64.so.2).
ldd_out="$(ldd "$NODE_BIN")" || die "ldd $NODE_BIN failed (statically linked?)"
libs=()
while read -r line; do
  case "$line" in
    *"=> not found"*) die "ldd: missing library for node: $line" ;;
    *"=> /"*) libs+=("$(awk '{print $3}' <<<"$line")") ;;
    /*) libs+=("$(awk '{print $1}' <<<"$line")") ;;
  esac
done <<<"$ldd_out"
((${#libs[@]})) || die "ldd found no libraries for $NODE_BIN"
for lib in "${libs[@]}"; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

cp -R "$SRC/." "$root/app/"

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
mkdir -p "$root/root"

# Smoke-test the rootfs before importing: node must start inside it.
if command -v chroot >/dev/null && [[ $EUID -eq 0 ]]; then
  out="$(chroot "$root" /usr/local/bin/node -p '1+1' 2>&1)" ||
    die "node does not run inside the rootfs: $out"
fi

# --- import and tag -------------------------------------------------------------
out="$(tar -C "$root" --numeric-owner -c . | docker import \
  --change 'ENTRYPOINT ["/usr/local/bin/node","/app/server.js"]' \
  --change 'WORKDIR /app' \
  --change "LABEL org.swarm-controller.test-app.src=$hash" \
  - "$SRC_TAG" 2>&1)" || die "docker import failed: $out"

for t in "${TAGS[@]}"; do docker tag "$SRC_TAG" "$IMAGE:$t"; done

# Drop tags of earlier builds (best effort; an image still used by a container stays).
for old in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "$IMAGE"); do
  [[ "$old" == "$IMAGE:src-"* && "$old" != "$SRC_TAG" ]] || continue
  docker image rm "$old" >/dev/null 2>&1 || true
done
