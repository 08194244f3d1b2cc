#!/usr/bin/env bash
# Puts the images the e2e and cluster tests run on an engine, building them where images can be
# built and copying them (docker save | docker load) to engines that cannot reach any registry.
#
#   scripts/engine-images.sh [--from HOST] [--no-build] [--only controller|proxy] [TARGET...]
#
# Images: swarm-controller/test-app:1, :2, :3 and its content tag :src-<hash>
# (scripts/build-test-app.sh), swarm-controller/controller:dev and swarm-controller/proxy:dev
# (scripts/build-images.sh; --only builds and copies just one of the two).
#
# TARGET: DOCKER_HOST values (default: $DOCKER_HOST). The builder is
#   --from HOST, else $SC_IMAGES_FROM, else the target itself when there is one target and it can
#   build, else the engine of the bookworm local Swarm (scripts/local-swarm.sh), started for the
#   build if it is not running and left running (others may have started to use it meanwhile).
#   An engine cannot build when its daemon has the label org.swarm-controller.offline=true (the
#   rootfs engines of scripts/local-swarm.sh, which reach no package registry).
# The builder runs the two build scripts first (no-ops when up to date; --no-build skips them).
# A target whose images already have the builder's image IDs gets nothing.
#
# Progress goes to stderr; nothing to stdout.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BOOKWORM_SOCK=/run/sc-swarm/docker.sock

say() { echo "engine-images: $*" >&2; }
die() { echo "engine-images: error: $*" >&2; exit 1; }

FROM="${SC_IMAGES_FROM:-}" BUILD=1 ONLY="" TARGETS=()
while (($#)); do
  case "$1" in
    --from) (($# >= 2)) || die "--from needs a DOCKER_HOST value"; FROM=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --only) (($# >= 2)) || die "--only needs controller or proxy"; ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) die "unknown option '$1' (try --help)" ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
case "$ONLY" in
  "") APPS=(controller proxy) ;;
  controller|proxy) APPS=("$ONLY") ;;
  *) die "--only takes 'controller' or 'proxy', not '$ONLY'" ;;
esac
if ((${#TARGETS[@]} == 0)); then
  [[ -n "${DOCKER_HOST:-}" ]] || die "no target: give DOCKER_HOST values or set DOCKER_HOST"
  TARGETS=("$DOCKER_HOST")
fi

# docker against one engine, whatever the caller's context or TLS settings.
dkh() { local h=$1; shift; env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST="$h" docker "$@"; }

answers() { timeout 10 env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST="$1" docker version >/dev/null 2>&1; }

offline() {
  [[ "$(dkh "$1" info --format '{{json .Labels}}' 2>/dev/null)" == *'"org.swarm-controller.offline=true"'* ]]
}

# ---- the builder ------------------------------------------------------------------------------------
if [[ -z "$FROM" ]]; then
  if ((${#TARGETS[@]} == 1)) && answers "${TARGETS[0]}" && ! offline "${TARGETS[0]}"; then
    FROM=${TARGETS[0]}
  elif answers "unix://$BOOKWORM_SOCK"; then
    FROM="unix://$BOOKWORM_SOCK"
  else
    say "no image builder answers: starting the bookworm local Swarm (scripts/local-swarm.sh) to build the images"
    out="$("$REPO/scripts/local-swarm.sh" --engine bookworm up)" || die "scripts/local-swarm.sh up failed"
    FROM="$(sed -n 's/^export DOCKER_HOST=//p' <<<"$out")"
  fi
fi
answers "$FROM" || die "the image builder $FROM does not answer"
offline "$FROM" && die "the image builder $FROM cannot build (it is an offline engine); give --from another"

if ((BUILD)); then
  say "building the images on $FROM (no-op when up to date)"
  DOCKER_HOST="$FROM" "$REPO/scripts/build-test-app.sh" || die "scripts/build-test-app.sh failed on $FROM"
  only=()
  ((${#APPS[@]} == 1)) && only=(--only "${APPS[0]}")
  DOCKER_HOST="$FROM" "$REPO/scripts/build-images.sh" "${only[@]}" >/dev/null || die "scripts/build-images.sh failed on $FROM"
fi

# ---- copying ----------------------------------------------------------------------------------------
IMAGES=(swarm-controller/test-app:1 swarm-controller/test-app:2 swarm-controller/test-app:3)
# The test app's content tag too: with it, scripts/build-test-app.sh run against a target finds
# the image up to date.
for tag in $(dkh "$FROM" image ls --format '{{.Repository}}:{{.Tag}}' swarm-controller/test-app); do
  [[ "$tag" == *:src-* ]] && IMAGES+=("$tag")
done
for app in "${APPS[@]}"; do IMAGES+=("swarm-controller/$app:dev"); done

image_id() { dkh "$1" image inspect --format '{{.Id}}' "$2" 2>/dev/null || true; }

declare -A WANT=()
for image in "${IMAGES[@]}"; do
  WANT[$image]="$(image_id "$FROM" "$image")"
  [[ -n "${WANT[$image]}" ]] || die "the builder $FROM has no $image"
done

for target in "${TARGETS[@]}"; do
  [[ "$target" == "$FROM" ]] && continue
  answers "$target" || die "the target $target does not answer"
  stale=()
  for image in "${IMAGES[@]}"; do
    [[ "$(image_id "$target" "$image")" == "${WANT[$image]}" ]] || stale+=("$image")
  done
  ((${#stale[@]})) || continue
  t0=$SECONDS
  dkh "$FROM" save "${stale[@]}" | dkh "$target" load >/dev/null || die "docker save | docker load from $FROM into $target failed"
  say "loaded ${#stale[@]} image(s) into $target in $((SECONDS - t0)) s: ${stale[*]}"
done
