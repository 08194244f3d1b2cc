#!/usr/bin/env bash
# The quick start: installs what is missing, starts a local single-node Swarm when DOCKER_HOST
# is not set, builds the small test-app image the examples use, then validates, plans and
# applies manifests/examples, and shows that a second plan is empty.
#
#   scripts/demo.sh            run it (safe to rerun: the second time there is nothing to do)
#   docker stack rm shop       remove what it deployed (with DOCKER_HOST from the output below)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "installing what is missing (Docker engine, npm packages)"
scripts/install-deps.sh
npm run --silent build

if [[ -z "${DOCKER_HOST:-}" ]]; then
  step "starting a local single-node Swarm"
  eval "$(scripts/local-swarm.sh up)"
  export DOCKER_HOST
fi
echo "DOCKER_HOST=$DOCKER_HOST"

step "building the test-app image used by the examples"
scripts/build-test-app.sh

controller() { node dist/src/cli/main.js "$@"; }

step "controller validate -f manifests/examples"
controller validate -f manifests/examples

step "controller plan -f manifests/examples"
rc=0; controller plan -f manifests/examples || rc=$?
((rc == 0 || rc == 2)) || exit "$rc"

step "controller apply -f manifests/examples --wait"
controller apply -f manifests/examples --wait --timeout 2m

step "controller plan -f manifests/examples  (again: nothing left to do)"
controller plan -f manifests/examples

step "the API service answers on the port it publishes"
for _ in $(seq 1 30); do
  if curl -fsS http://127.0.0.1:18080/demo; then echo; break; fi
  sleep 1
done

step "docker stack services shop"
docker stack services shop

cat <<TXT

Done. To try a change, edit manifests/examples/web.yaml (say replicas: 5) and run:
  export DOCKER_HOST=$DOCKER_HOST
  node dist/src/cli/main.js plan -f manifests/examples
  node dist/src/cli/main.js apply -f manifests/examples --wait
Remove the example with: docker stack rm shop
Stop the local Swarm with: scripts/local-swarm.sh down
TXT
