#!/usr/bin/env bash
# Run every test, from a fresh clone, as root:
#   install deps -> gen:check -> lint (Prettier, type-aware ESLint) -> unit tests
#   -> integration tests (real programs, no engine: yaml-language-server, HAProxy on loopback,
#      git over ssh and http)
#   -> per engine: (private Swarm) -> test-app and controller images -> e2e tests -> other objects untouched
#   -> multi-node cluster tests -> a 5-minute soak on that cluster
#
# Engines: the e2e tests run on each engine of SC_ENGINES (default "bookworm sid": Debian
# bookworm's docker.io 20.10, then sid's 28.5; see scripts/local-swarm.sh), each a private
# single-node Swarm started with `scripts/local-swarm.sh --engine E up`, with the images the tests
# need (scripts/engine-images.sh: built on bookworm's engine and loaded into the others) and its
# own "other objects untouched" check; the summary has a line per engine, e.g.
# "e2e tests (engine 28.5.2, API 1.51)  PASS  700s". A failure on any engine fails the run.
# An engine's daemon that this script started is stopped at exit (down --keep-swarm: the swarm
# and what runs on it, the demo say, come back with the next `up`); set SC_KEEP_SWARM=1 to leave
# it running.
# If DOCKER_HOST is set, the e2e tests use only that daemon (it must be a Swarm manager), as
# SC_PUBLISHED_ADDR says its host-mode ports are reached (default 127.0.0.1).
#
# The cluster tests (test/cluster/) run on a Swarm of three nodes made by scripts/cluster.sh
# (1 manager + 2 workers; the last test remakes it with 3 managers), its images copied from the
# bookworm (or the caller's) e2e engine; the cluster is started for them and removed after
# (down --purge), unless it was already up. SC_CLUSTER_TESTS=0 skips them. After them, on the
# same cluster, a 5-minute soak (bench/soak.ts, `SOAK_MINUTES=5`): it fails on a failed request
# or a crash, never on a timing. SC_SOAK=0 skips it.
#
# Later steps still run after a failed gen:check or unit run so one run reports everything;
# steps that depend on a failed step are skipped. Exit status is non-zero if any step failed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

declare -a NAMES=() RESULTS=() TIMES=()
failed=0
passed_tests=0 failed_tests=0
COUNTS="$(mktemp)"
FOREIGN_BEFORE="$(mktemp)"
STARTED_ENGINES=()
started_cluster=0

# run_step NAME CMD... : run a step, record PASS/FAIL and its duration.
run_step() {
  local name=$1; shift
  local t0=$SECONDS rc=0
  echo
  echo "==> $name"
  "$@" || rc=$?
  NAMES+=("$name"); TIMES+=("$((SECONDS - t0))s")
  if ((rc == 0)); then RESULTS+=("PASS"); else RESULTS+=("FAIL (exit $rc)"); failed=1; fi
  return "$rc"
}

skip_step() {
  NAMES+=("$1"); TIMES+=("-"); RESULTS+=("SKIPPED ($2)")
}

# count_tests CMD...: run a node --test command, echo its output, add its pass/fail counts.
count_tests() {
  local out rc=0
  out="$(mktemp)"
  "$@" 2>&1 | tee "$out" || rc=$?
  awk '/^# pass /{p+=$3} /^# fail /{f+=$3} END{print p+0, f+0}' "$out" >>"$COUNTS"
  rm -f "$out"
  return "$rc"
}

summary() {
  local i p f
  echo
  echo "==================== test summary ===================="
  for i in "${!NAMES[@]}"; do
    printf '  %-40s %-22s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
  done
  echo "======================================================"
  while read -r p f; do passed_tests=$((passed_tests + p)); failed_tests=$((failed_tests + f)); done <"$COUNTS"
  rm -f "$COUNTS" "$FOREIGN_BEFORE"
  if ((failed)); then echo "RESULT: FAILED"; else echo "RESULT: PASSED"; fi
  echo "tests: $passed_tests passed, $failed_tests failed"
}

cleanup() {
  local rc=$?
  if ((started_cluster)); then
    echo
    echo "==> removing the cluster started by this run"
    scripts/cluster.sh down --purge || echo "warning: scripts/cluster.sh down --purge failed" >&2
  fi
  local e
  for e in "${STARTED_ENGINES[@]+"${STARTED_ENGINES[@]}"}"; do
    [[ "${SC_KEEP_SWARM:-0}" != 1 ]] || break
    echo
    echo "==> stopping the $e engine's daemon started by this run (what was deployed on it stays)"
    scripts/local-swarm.sh --engine "$e" down --keep-swarm ||
      echo "warning: scripts/local-swarm.sh --engine $e down --keep-swarm failed" >&2
  done
  summary
  if ((failed && rc == 0)); then rc=1; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! run_step "install dependencies" scripts/install-deps.sh; then
  skip_step "gen:check" "no dependencies"
  skip_step "lint" "no dependencies"
  skip_step "unit tests" "no dependencies"
  skip_step "integration tests" "no dependencies"
  skip_step "swarm" "no dependencies"
  skip_step "images" "no dependencies"
  skip_step "e2e tests" "no dependencies"
  exit 1
fi

run_step "gen:check" npm run --silent gen:check || true
run_step "lint" npm run --silent lint || true
run_step "unit tests" count_tests npm run --silent test:unit || true
run_step "integration tests" count_tests npm run --silent test:integration || true

# start_swarm ENGINE: the engine's Swarm up; exports DOCKER_HOST, SC_PUBLISHED_ADDR, SC_HOST_ADDR.
# ENGINE "caller" is the caller's DOCKER_HOST, used as it is.
start_swarm() {
  local engine=$1 was_up=0 out
  if [[ "$engine" == caller ]]; then
    echo "using DOCKER_HOST=$DOCKER_HOST"
  else
    scripts/local-swarm.sh --engine "$engine" status >/dev/null 2>&1 && was_up=1
    out="$(scripts/local-swarm.sh --engine "$engine" up)" || return 1
    eval "$out"
    export DOCKER_HOST SC_PUBLISHED_ADDR SC_HOST_ADDR
    ((was_up)) || STARTED_ENGINES+=("$engine")
    echo "DOCKER_HOST=$DOCKER_HOST ($( ((was_up)) && echo "already running, left up" || echo "started by this run"))"
    echo "published ports at ${SC_PUBLISHED_ADDR}; the engine reaches the host at $SC_HOST_ADDR"
  fi
  ENGINE_VERSION="$(docker version --format '{{.Server.Version}}')" || return 1
  ENGINE_VERSION="${ENGINE_VERSION%%+*}"
  ENGINE_API="$(docker version --format '{{.Server.APIVersion}}')" || return 1
  echo "engine $ENGINE_VERSION (API $ENGINE_API)"
}

# The e2e tests share the Swarm with whatever else runs there (the demo's shop and controller,
# say): they use only names starting e2e- and ports and paths of their own. These two record
# every other Swarm object before the e2e run and check afterwards that none was changed or
# removed, and that the run left nothing of another name behind. A service is compared by its
# spec; a network, config or secret by its ID (their content cannot change in place, so another
# ID means removed and made again; a config's labels may change, which is how a running
# controller renews its lease).
foreign_objects() {
  local name
  docker service ls --format '{{.Name}}' | grep -v '^e2e-' | sort | while read -r name; do
    printf 'service %s %s\n' "$name" "$(docker service inspect --format '{{json .Spec}}' "$name" | sha256sum | cut -c1-16)"
  done
  docker network ls --filter scope=swarm --format 'network {{.Name}} {{.ID}}' | grep -v '^network e2e-' | sort
  # (an e2e apply set's lease and state records are e2e objects too; status records are rotated
  # by whichever controller runs, a new config per version: docs/status-format.md)
  docker config ls --format 'config {{.Name}} {{.ID}}' | grep -Ev '^config (e2e-|swarm-controller-(lease|state)\.e2e-|swarm-controller-(status|routes)\.)' | sort
  docker secret ls --format 'secret {{.Name}} {{.ID}}' | grep -v '^secret e2e-' | sort
}
record_foreign() {
  foreign_objects >"$FOREIGN_BEFORE" || return 1
  echo "objects on the Swarm before the e2e run, besides e2e-*: $(wc -l <"$FOREIGN_BEFORE")"
  sed 's/^/  /' "$FOREIGN_BEFORE"
}
check_foreign() {
  local after bad=0 kind name sum now
  after="$(mktemp)"
  foreign_objects >"$after" || { rm -f "$after"; return 1; }
  while read -r kind name sum; do
    now="$(awk -v k="$kind" -v n="$name" '$1 == k && $2 == n {print $3}' "$after")"
    if [[ -z "$now" ]]; then echo "removed by the e2e run: $kind $name"; bad=1
    elif [[ "$now" != "$sum" ]]; then echo "changed by the e2e run: $kind $name"; bad=1
    fi
  done <"$FOREIGN_BEFORE"
  while read -r kind name sum; do
    awk -v k="$kind" -v n="$name" '$1 == k && $2 == n {found=1} END {exit !found}' "$FOREIGN_BEFORE" ||
      { echo "left behind by the e2e run: $kind $name (not named e2e-*)"; bad=1; }
  done <"$after"
  rm -f "$after"
  ((bad == 0)) && echo "the $(wc -l <"$FOREIGN_BEFORE") other objects (services, networks, configs, secrets) are untouched"
  return "$bad"
}

# What an interrupted earlier run left (its after-hooks never ran): every e2e-* service, then its
# configs, secrets and networks, and the e2e apply sets' lease and state records. A leftover
# route tier would otherwise serve and report the routes of this run's tests beside theirs.
purge_leftovers() {
  local left n
  left="$(docker service ls --format '{{.Name}}' | grep '^e2e-' || true)"
  if [[ -n "$left" ]]; then
    echo "removing services an earlier e2e run left: $(echo $left)"
    # (word splitting wanted: one name per argument)
    # shellcheck disable=SC2086
    docker service rm $left >/dev/null
  fi
  left="$( (docker config ls --format '{{.Name}}' | grep -E '^(e2e-|swarm-controller-(lease|state)\.e2e-)'; docker secret ls --format '{{.Name}}' | grep '^e2e-') || true)"
  [[ -z "$left" ]] || echo "removing configs and secrets an earlier e2e run left: $(echo $left)"
  for n in $(docker config ls --format '{{.Name}}' | grep -E '^(e2e-|swarm-controller-(lease|state)\.e2e-)' || true); do docker config rm "$n" >/dev/null || true; done
  for n in $(docker secret ls --format '{{.Name}}' | grep '^e2e-' || true); do docker secret rm "$n" >/dev/null || true; done
  # A network goes once the containers of its removed services have stopped.
  for _ in $(seq 30); do
    left="$(docker network ls --filter scope=swarm --format '{{.Name}}' | grep '^e2e-' || true)"
    [[ -z "$left" ]] && return 0
    # shellcheck disable=SC2086
    docker network rm $left >/dev/null 2>&1 || sleep 1
  done
  echo "warning: networks an earlier e2e run left are still attached: $(echo $left)" >&2
}

# A cluster of 1 manager and 2 workers (scripts/cluster.sh), given the images of the e2e Swarm.
start_cluster() {
  if scripts/cluster.sh status >/dev/null 2>&1; then
    echo "a cluster is up already: the tests use it (and remake it if its shape is not theirs)"
  else
    # State left by an earlier cluster (engines gone, perhaps of another shape) is removed first.
    scripts/cluster.sh down --purge >/dev/null 2>&1 || true
    started_cluster=1
    scripts/cluster.sh up >/dev/null || return 1
  fi
  scripts/cluster.sh status
}

stop_cluster() {
  ((started_cluster)) || return 0
  scripts/cluster.sh down --purge && started_cluster=0
}

# run_engine ENGINE: the e2e tests on one engine, with their "other objects untouched" check.
run_engine() {
  local engine=$1 label=$1
  [[ "$engine" == caller ]] && label="DOCKER_HOST"
  if ! run_step "swarm ($label)" start_swarm "$engine"; then
    skip_step "e2e tests ($label)" "no swarm"
    return 0
  fi
  # scripts/engine-images.sh builds on the engine itself, or (an offline rootfs engine) on
  # bookworm's and loads the images into it.
  if ! run_step "images ($label)" scripts/engine-images.sh --only controller; then
    skip_step "e2e tests (engine $ENGINE_VERSION, API $ENGINE_API)" "an image failed to build"
    return 0
  fi
  # (the first engine that can build is the cluster's image source)
  if [[ -z "$E2E_IMAGES_FROM" && "$(docker info --format '{{json .Labels}}')" != *org.swarm-controller.offline=true* ]]; then
    E2E_IMAGES_FROM="$DOCKER_HOST"
  fi
  purge_leftovers || echo "warning: could not remove what an earlier e2e run left" >&2
  record_foreign || echo "warning: could not list the Swarm's objects" >&2
  # (SC_ENGINE: the engine test/e2e/engine-isolation.test.ts expects)
  [[ "$engine" == caller ]] || export SC_ENGINE="$engine"
  run_step "e2e tests (engine $ENGINE_VERSION, API $ENGINE_API)" count_tests npm run --silent test:e2e || true
  run_step "other objects untouched ($label)" check_foreign || true
}

E2E_IMAGES_FROM=""
if [[ -n "${DOCKER_HOST:-}" ]]; then
  ENGINES=(caller)
else
  read -r -a ENGINES <<<"${SC_ENGINES:-bookworm sid}"
  ((${#ENGINES[@]})) || ENGINES=(bookworm)
fi
for engine in "${ENGINES[@]}"; do run_engine "$engine"; done

# The cluster gets its images from the first e2e engine that can build (bookworm's, or the
# caller's), else scripts/engine-images.sh builds them on bookworm's.
if [[ "${SC_CLUSTER_TESTS:-1}" == 0 ]]; then
  skip_step "cluster tests" "SC_CLUSTER_TESTS=0"
else
  # (the cluster tests make the cluster's node 1 their DOCKER_HOST; its ports are reached at
  # its own address, not at an e2e engine's)
  unset SC_PUBLISHED_ADDR SC_HOST_ADDR
  if [[ -n "$E2E_IMAGES_FROM" ]]; then export SC_CLUSTER_IMAGES_FROM="$E2E_IMAGES_FROM" DOCKER_HOST="$E2E_IMAGES_FROM"; fi
  if run_step "cluster" start_cluster; then
    run_step "cluster tests" count_tests npm run --silent test:cluster || true
    # The 5-minute soak (bench/soak.ts) on the cluster the tests leave up: fails on a failed
    # request or a crash, never on a timing (docs/reliability.md, "Soak"). SC_SOAK=0 skips it.
    if [[ "${SC_SOAK:-1}" == 0 ]]; then
      skip_step "soak (5 minutes)" "SC_SOAK=0"
    else
      run_step "soak (5 minutes)" env SOAK_MINUTES=5 node dist/bench/soak.js || true
    fi
    run_step "cluster down" stop_cluster || true
  else
    skip_step "cluster tests" "no cluster"
  fi
fi
