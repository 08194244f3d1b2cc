#!/usr/bin/env bash
# A multi-node Docker Swarm on this one machine, for placement and fault tests.
# Each node is a dockerd in its own network namespace; independent of scripts/local-swarm.sh
# (both may run at once).
#
#   scripts/cluster.sh up [--managers N] [--workers M]   start (or reuse) it; default 1 manager + 2 workers;
#                                                        prints the export lines (DOCKER_HOST of node 1)
#   scripts/cluster.sh up --size 3|5       the test beds by size: 3 = 1 manager + 2 workers (the default),
#                                          5 = 3 managers + 2 workers (the partition and quorum tests)
#   scripts/cluster.sh env                 print those lines if it is up
#   scripts/cluster.sh status              one line per node; exit 0 when every node is Ready
#   scripts/cluster.sh nodes               one line per node: name role address DOCKER_HOST zone node-id
#   scripts/cluster.sh kill-engine NODE    SIGKILL node NODE's dockerd (n2 or 2): an engine crash
#   scripts/cluster.sh kill-node NODE      the node is lost at once: SIGKILL to its containers' processes,
#                                          its dockerd, containerd and shims together (a power cut);
#                                          start-engine brings it back, with its swarm state
#   scripts/cluster.sh start-engine NODE   start it again (it rejoins with its swarm state)
#   scripts/cluster.sh partition NODE [PEER...]  cut NODE off from the other managers (or from the PEERs
#                                          named): iptables rules inside NODE's own namespace drop every
#                                          packet between it and them, both ways; nothing is stopped
#   scripts/cluster.sh heal NODE           remove those rules (and only those)
#   scripts/cluster.sh partitions          one line per rule in place: NODE PEER
#   scripts/cluster.sh down [--purge]      stop every engine, delete namespaces, links, routes, rules;
#                                          --purge also deletes the state dir (swarm state, images)
#
# Usage: eval "$(scripts/cluster.sh up)"
#
# Layout (node i = 1..N+M; nodes 1..N are managers, node 1 creates the swarm):
#   - netns scc-n<i>, a veth pair: scc-v<i> on the host bridge scc-br0 (10.216.0.1/24) and
#     eth0 inside with 10.216.0.(10+i)/24; no default route in a node's namespace, so nothing
#     there reaches beyond 10.216.0.0/24;
#   - dockerd started with `nsenter --net=/run/netns/scc-n<i>` (not `ip netns exec`, which
#     remounts /sys and breaks dockerd) and `unshare --uts` (hostname scc-n<i>, so `docker
#     node ls` tells the nodes apart); state in $SC_CLUSTER_DIR/n<i>: socket, pid file,
#     data root, exec root; containerd namespace scc-n<i>; --iptables=false (as local-swarm.sh:
#     published ports go through docker-proxy); default bridge 10.216.(100+i).1/24,
#     docker_gwbridge 10.216.(200+i).0/24, both inside the node's namespace;
#   - swarm overlay pool 10.215.0.0/16, and `ip route add unreachable` for it and for
#     10.216.0.0/16 (the /24 of the nodes stays routed to scc-br0), so a connection from the
#     host to an overlay or node-internal address fails at once instead of leaving the machine;
#   - $SC_CLUSTER_DIR/scc-n<i> is a link to n<i>, so a service that bind-mounts
#     $SC_CLUSTER_DIR/{{.Node.Hostname}}/docker.sock talks to the engine of the node it runs on
#     (as /var/run/docker.sock would on real machines);
#   - node labels: zone=a|b|c (nodes 1,2: a; 3,4: b; 5,6: c ...) and sc.node=n<i>.
#   Why node 1 is not in the host's namespace: swarm's gossip port (7946, tcp+udp) cannot be
#   changed in engine 20.10, and the local Swarm's dockerd holds *:7946 there. Ports published
#   in host mode on node i are reached from the host at 10.216.0.(10+i) (a namespace of ours).
#
# Images: every node gets swarm-controller/test-app:* and swarm-controller/{controller,proxy}:dev
# by `docker save | docker load` from a builder daemon (scripts/engine-images.sh):
# $SC_CLUSTER_IMAGES_FROM, else the local Swarm's daemon (/run/sc-swarm) if it answers, else the
# local Swarm is started for the build (and left running). The builder runs
# scripts/build-test-app.sh and scripts/build-images.sh first (no-ops when up to date;
# SC_CLUSTER_SKIP_BUILD=1 skips them). A node whose images already have the builder's IDs gets
# nothing.
#
# Nodes reach no registry (their daemons carry the label org.swarm-controller.offline=true).
# Registries: every engine starts with --insecure-registry 10.216.0.1/32, so a plain-HTTP
# registry a test runs on the host's side of the bridge (10.216.0.1) can be pulled from.
#
# Only stdout of up/env is the export lines; progress goes to stderr. Processes are found and
# stopped only through our pid files, never by name.
#
# Settings (environment):
#   SC_CLUSTER_DIR          state dir (default /run/sc-cluster; keep it short: socket paths < 108 bytes)
#   SC_CLUSTER_IMAGES_FROM  DOCKER_HOST of the image builder (see Images)
#   SC_CLUSTER_SKIP_BUILD   1: copy images as they are, do not build them first
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
D="${SC_CLUSTER_DIR:-/run/sc-cluster}"
POOL=10.215.0.0/16
NODE_NET=10.216.0        # nodes' /24
GUARD=10.216.0.0/16      # node-internal bridges live in here; unreachable from the host
BRIDGE=scc-br0
HOST_ADDR="$NODE_NET.1"
TAG=sc-cluster
START_TIMEOUT=60
STOP_TIMEOUT=45
JOIN_TIMEOUT=90

say() { echo "cluster: $*" >&2; }
die() { echo "cluster: error: $*" >&2; exit 1; }

# ---- per-node names ---------------------------------------------------------------------------
ns_of() { echo "scc-n$1"; }
dir_of() { echo "$D/n$1"; }
sock_of() { echo "$D/n$1/docker.sock"; }
addr_of() { echo "$NODE_NET.$((10 + $1))"; }
zone_of() { local z=(a b c d e f g h); echo "${z[$((($1 - 1) / 2 % 8))]}"; }

dk() {  # dk NODE docker-args...
  local n=$1; shift
  env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST="unix://$(sock_of "$n")" docker "$@"
}

node_arg() {  # "n2" or "2" -> 2, checked against the topology
  local n=${1#n}
  [[ "$n" =~ ^[0-9]+$ ]] || die "not a node: '$1' (use n1, n2, ... or 1, 2, ...)"
  read_topology
  ((n >= 1 && n <= MANAGERS + WORKERS)) || die "no node $1 (the cluster has nodes n1..n$((MANAGERS + WORKERS)))"
  echo "$n"
}

MANAGERS=0 WORKERS=0
read_topology() {
  [[ -f "$D/topology" ]] || die "no cluster here ($D/topology missing); run '$0 up'"
  # shellcheck disable=SC1091
  source "$D/topology"
}

# ---- processes ----------------------------------------------------------------------------------
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}

# Pid of node N's dockerd from its pid file, if alive and serving its socket; empty otherwise.
engine_pid() {
  local f pid
  f="$(dir_of "$1")/dockerd.pid"
  [[ -f "$f" ]] || return 0
  pid="$(tr -dc 0-9 <"$f")"
  [[ -n "$pid" ]] && alive "$pid" || return 0
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "unix://$(sock_of "$1") " || return 0
  echo "$pid"
}

answers() { timeout 10 env -u DOCKER_CONTEXT DOCKER_HOST="unix://$(sock_of "$1")" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
swarm_state() { timeout 10 env -u DOCKER_CONTEXT DOCKER_HOST="unix://$(sock_of "$1")" docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true; }
node_id() { timeout 10 env -u DOCKER_CONTEXT DOCKER_HOST="unix://$(sock_of "$1")" docker info --format '{{.Swarm.NodeID}}' 2>/dev/null || true; }

log_tail() {
  local log
  log="$(dir_of "$1")/dockerd.log"
  [[ -f "$log" ]] || return 0
  echo "---- last lines of $log ----" >&2; tail -n 25 "$log" >&2; echo "----" >&2
}

# ---- dependencies -------------------------------------------------------------------------------
ensure_deps() {
  [[ $EUID -eq 0 ]] || die "must run as root (network namespaces, dockerd)"
  local want=(docker.io iproute2 iptables util-linux) missing=() pkg status
  for pkg in "${want[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get (Debian expected)"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
  fi
  local bin
  for bin in dockerd docker ip iptables nsenter unshare; do
    command -v "$bin" >/dev/null || die "'$bin' not found in PATH"
  done
}

# ---- host network: bridge, guard routes, forward rule ---------------------------------------------
route_state() {  # prefix -> absent | ours | other
  local r
  r="$(ip route show exact "$1" 2>/dev/null || true)"
  if [[ -z "$r" ]]; then echo absent; elif [[ "$r" == unreachable* ]]; then echo ours; else echo other; fi
}

ensure_guard_route() {
  case "$(route_state "$1")" in
    ours) ;;
    absent) ip route add unreachable "$1" || die "could not add 'unreachable $1' route" ;;
    other) die "a route for $1 already exists and is not ours: $(ip route show exact "$1")" ;;
  esac
}

ensure_host_net() {
  if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    ip link add name "$BRIDGE" type bridge || die "could not create bridge $BRIDGE"
  fi
  ip -4 addr show dev "$BRIDGE" | grep -qw "inet $HOST_ADDR/24" || ip addr add "$HOST_ADDR/24" dev "$BRIDGE"
  ip link set dev "$BRIDGE" up
  ensure_guard_route "$POOL"
  ensure_guard_route "$GUARD"
  # Bridged traffic between the nodes passes the host's FORWARD chain (br_netfilter): let it.
  iptables -w -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$TAG" -j ACCEPT 2>/dev/null ||
    iptables -w -I FORWARD 1 -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$TAG" -j ACCEPT ||
    die "could not add the FORWARD rule for $BRIDGE"
}

remove_host_net() {
  local line p
  while read -r line; do
    [[ "$line" == "-A "*"--comment $TAG"* ]] || continue
    eval "iptables -w ${line/#-A /-D }" 2>/dev/null || true
  done < <(iptables -w -S FORWARD 2>/dev/null || true)
  for p in "$POOL" "$GUARD"; do
    [[ "$(route_state "$p")" == ours ]] && { ip route del unreachable "$p" 2>/dev/null || say "warning: could not remove route 'unreachable $p'"; }
  done
  ip link del dev "$BRIDGE" 2>/dev/null || true
}

# ---- one node -----------------------------------------------------------------------------------
ensure_netns() {
  local n=$1 ns veth
  ns="$(ns_of "$n")"; veth="scc-v$n"
  [[ -e "/run/netns/$ns" ]] || ip netns add "$ns" || die "could not create netns $ns"
  if ! ip link show dev "$veth" >/dev/null 2>&1; then
    ip -n "$ns" link del dev eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns" || die "could not create veth $veth"
  fi
  ip link set dev "$veth" master "$BRIDGE" up
  ip -n "$ns" link set dev lo up
  ip -n "$ns" -4 addr show dev eth0 | grep -qw "inet $(addr_of "$n")/24" || ip -n "$ns" addr add "$(addr_of "$n")/24" dev eth0
  ip -n "$ns" link set dev eth0 up
}

# A killed dockerd's containerd dies with it (parent-death signal), but until its process is
# gone (zombies included) a new dockerd takes it for a live containerd, waits for it and fails
# ("timeout waiting for containerd to start"). Wait for it to go.
wait_containerd_gone() {
  local n=$1 f pid deadline=$((SECONDS + 20))
  f="$(dir_of "$n")/exec/containerd/containerd.pid"
  [[ -f "$f" ]] || return 0
  pid="$(tr -dc 0-9 <"$f")"
  [[ -n "$pid" ]] || return 0
  # (a zombie has no command line left, only its name; another containerd that took the pid
  # only makes us wait, it is never signalled)
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == containerd ]] || return 0
  while [[ -e "/proc/$pid" ]]; do
    ((SECONDS < deadline)) || { say "warning: n$n: the containerd of its killed engine (pid $pid) is still there"; return 0; }
    sleep 0.1
  done
}

start_engine() {
  local n=$1 dir sock ns pid
  dir="$(dir_of "$n")"; sock="$(sock_of "$n")"; ns="$(ns_of "$n")"
  pid="$(engine_pid "$n")"
  if [[ -z "$pid" ]]; then
    wait_containerd_gone "$n"
    (( ${#sock} < 100 )) || die "socket path too long: $sock; set a shorter SC_CLUSTER_DIR"
    mkdir -p "$dir" && chmod 700 "$dir"
    # $D/scc-n<i> -> n<i>: a service's bind mount of $D/{{.Node.Hostname}}/docker.sock gives
    # each task its own node's engine (Swarm expands templates in mount sources).
    ln -sfn "n$n" "$D/$ns"
    rm -f "$dir/dockerd.pid" "$sock"
    local args=(
      --data-root "$dir/root"
      --exec-root "$dir/exec"
      -H "unix://$sock"
      --pidfile "$dir/dockerd.pid"
      --iptables=false
      --bip "10.216.$((100 + n)).1/24"
      --insecure-registry "$HOST_ADDR/32"
      --label org.swarm-controller.offline=true
      --containerd-namespace "$ns"
      --containerd-plugins-namespace "$ns-plugins"
    )
    say "n$n: starting dockerd in netns $ns (log $dir/dockerd.log)"
    echo "=== $(date -u +%FT%TZ) dockerd ${args[*]}" >>"$dir/dockerd.log"
    # The daemon must not inherit the caller's descriptors (a flock held around this script
    # would stay held for as long as the engine lives).
    # shellcheck disable=SC2016
    (
      for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
      done
      exec setsid nohup nsenter --net="/run/netns/$ns" unshare --uts -- \
        sh -c 'hostname "$0" && exec dockerd "$@"' "$ns" "${args[@]}" </dev/null >>"$dir/dockerd.log" 2>&1
    ) &
    local launcher=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    until answers "$n"; do
      if ! alive "$launcher" && [[ -z "$(engine_pid "$n")" ]]; then log_tail "$n"; die "n$n: dockerd exited during start-up"; fi
      ((SECONDS < deadline)) || { log_tail "$n"; die "n$n: dockerd did not answer within ${START_TIMEOUT}s"; }
      sleep 0.5
    done
    [[ -n "$(engine_pid "$n")" ]] || { log_tail "$n"; die "n$n: dockerd answers but its pid file is missing or stale"; }
  else
    local deadline=$((SECONDS + START_TIMEOUT))
    until answers "$n"; do
      ((SECONDS < deadline)) || { log_tail "$n"; die "n$n: dockerd (pid $pid) does not answer; '$0 down' stops it"; }
      sleep 0.5
    done
  fi
}

stop_engine() {  # stop_engine NODE SIGNAL
  local n=$1 sig=$2 pid
  pid="$(engine_pid "$n")"
  [[ -n "$pid" ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  [[ "$sig" == KILL ]] && { while alive "$pid"; do sleep 0.05; done; return 0; }
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      say "n$n: dockerd (pid $pid) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1; break
    fi
    sleep 0.2
  done
}

# docker_gwbridge with our subnet, created before the node inits or joins a swarm.
ensure_gwbridge() {
  local n=$1
  dk "$n" network inspect docker_gwbridge >/dev/null 2>&1 && return 0
  dk "$n" network create --driver bridge --subnet "10.216.$((200 + n)).0/24" \
    --opt com.docker.network.bridge.name=docker_gwbridge \
    --opt com.docker.network.bridge.enable_icc=false \
    --opt com.docker.network.bridge.enable_ip_masquerade=false \
    docker_gwbridge >/dev/null || die "n$n: could not create docker_gwbridge"
}

ensure_swarm_member() {
  local n=$1 state role
  state="$(swarm_state "$n")"
  case "$state" in
    active) return 0 ;;
    inactive) ;;
    *) die "n$n: swarm state '${state:-unknown}'; try '$0 down --purge' then '$0 up'" ;;
  esac
  ensure_gwbridge "$n"
  local addr out
  addr="$(addr_of "$n")"
  if ((n == 1)); then
    say "n1: initialising the swarm (advertise $addr, address pool $POOL)"
    out="$(dk 1 swarm init --advertise-addr "$addr" --listen-addr "$addr:2377" \
      --default-addr-pool "$POOL" --default-addr-pool-mask-length 24 2>&1)" || { echo "$out" >&2; die "docker swarm init failed"; }
    return 0
  fi
  role=worker; ((n <= MANAGERS)) && role=manager
  local token
  token="$(dk 1 swarm join-token -q "$role")" || die "could not read the $role join token from n1"
  say "n$n: joining as $role"
  out="$(timeout "$JOIN_TIMEOUT" env -u DOCKER_CONTEXT DOCKER_HOST="unix://$(sock_of "$n")" docker swarm join \
    --token "$token" --advertise-addr "$addr" --listen-addr "$addr:2377" "$(addr_of 1):2377" 2>&1)" ||
    { echo "$out" >&2; die "n$n: docker swarm join failed"; }
}

label_node() {
  local n=$1 id
  id="$(node_id "$n")"
  [[ -n "$id" ]] || die "n$n: no swarm node id"
  dk 1 node update --label-add "zone=$(zone_of "$n")" --label-add "sc.node=n$n" "$id" >/dev/null ||
    die "n$n: could not label node $id"
}

# ---- images -------------------------------------------------------------------------------------
# Built on a builder daemon and copied to every node whose images differ (scripts/engine-images.sh).
ensure_images() {
  local opts=() targets=() n
  [[ -n "${SC_CLUSTER_IMAGES_FROM:-}" ]] && opts+=(--from "$SC_CLUSTER_IMAGES_FROM")
  [[ "${SC_CLUSTER_SKIP_BUILD:-0}" == 1 ]] && opts+=(--no-build)
  for ((n = 1; n <= MANAGERS + WORKERS; n++)); do targets+=("unix://$(sock_of "$n")"); done
  "$REPO/scripts/engine-images.sh" "${opts[@]}" "${targets[@]}" || die "scripts/engine-images.sh failed"
}

wait_ready() {
  local total=$((MANAGERS + WORKERS)) deadline=$((SECONDS + JOIN_TIMEOUT)) ready
  while :; do
    ready="$(dk 1 node ls --format '{{.Status}} {{.Availability}}' 2>/dev/null | grep -c '^Ready Active$' || true)"
    ((ready >= total)) && return 0
    ((SECONDS < deadline)) || { dk 1 node ls >&2 || true; die "only $ready of $total nodes are Ready"; }
    sleep 0.5
  done
}

host_lines() {
  echo "export DOCKER_HOST=unix://$(sock_of 1)"
  echo "export SC_CLUSTER_NODE1_ADDR=$(addr_of 1)"
}

# ---- commands -------------------------------------------------------------------------------------
cmd_up() {
  local managers=1 workers=2
  while (($#)); do
    case "$1" in
      --managers) managers=${2:?--managers needs a number}; shift 2 ;;
      --workers) workers=${2:?--workers needs a number}; shift 2 ;;
      --size)
        case "${2:-}" in
          3) managers=1 workers=2 ;;
          5) managers=3 workers=2 ;;
          *) die "--size 3 (1 manager + 2 workers) or 5 (3 managers + 2 workers)" ;;
        esac
        shift 2 ;;
      *) die "unknown option for up: $1" ;;
    esac
  done
  [[ "$managers" =~ ^[1-9]$ && "$workers" =~ ^[0-9]$ ]] || die "--managers 1-9, --workers 0-9"
  ensure_deps
  if [[ -f "$D/topology" ]]; then
    read_topology
    ((MANAGERS == managers && WORKERS == workers)) ||
      die "a cluster of $MANAGERS manager(s) and $WORKERS worker(s) exists in $D; '$0 down --purge' first"
  else
    mkdir -p "$D" && chmod 700 "$D"
    printf 'MANAGERS=%d\nWORKERS=%d\n' "$managers" "$workers" >"$D/topology"
    MANAGERS=$managers WORKERS=$workers
  fi
  local t0=$SECONDS n total=$((managers + workers))
  ensure_host_net
  for ((n = 1; n <= total; n++)); do ensure_netns "$n"; done
  for ((n = 1; n <= total; n++)); do start_engine "$n"; done
  for ((n = 1; n <= total; n++)); do ensure_swarm_member "$n"; done
  wait_ready
  for ((n = 1; n <= total; n++)); do label_node "$n"; done
  ensure_images
  say "up: $managers manager(s), $workers worker(s) in $((SECONDS - t0)) s"
  host_lines
}

cmd_env() {
  read_topology
  [[ -n "$(engine_pid 1)" ]] && answers 1 || die "node 1 is not running; run '$0 up'"
  host_lines
}

node_line() {  # name role address DOCKER_HOST zone node-id
  local n=$1 role=worker
  ((n <= MANAGERS)) && role=manager
  echo "n$n $role $(addr_of "$n") unix://$(sock_of "$n") zone=$(zone_of "$n") $(node_id "$n")"
}

cmd_nodes() {
  read_topology
  local n
  for ((n = 1; n <= MANAGERS + WORKERS; n++)); do node_line "$n"; done
}

cmd_status() {
  read_topology
  local n ok=1 pid total=$((MANAGERS + WORKERS)) listing=""
  answers 1 && listing="$(dk 1 node ls --format '{{.ID}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' 2>/dev/null || true)"
  for ((n = 1; n <= total; n++)); do
    pid="$(engine_pid "$n")"
    local id line
    id="$(node_id "$n")"
    line="$(grep "^$id " <<<"$listing" | cut -d' ' -f2- || true)"
    echo "n$n $(addr_of "$n") pid=${pid:-none} swarm=${id:-?} ${line:-unknown}"
    [[ -n "$pid" && "$line" == "Ready Active"* ]] || ok=0
  done
  [[ "$(route_state "$POOL")" == ours ]] || { echo "route 'unreachable $POOL' is missing"; ok=0; }
  ((ok)) && echo "up: DOCKER_HOST=unix://$(sock_of 1)" && return 0
  return 1
}

cmd_kill_engine() {
  local n pid
  n="$(node_arg "${1:?usage: kill-engine NODE}")"
  pid="$(engine_pid "$n")"
  [[ -n "$pid" ]] || die "n$n: dockerd is not running"
  stop_engine "$n" KILL
  wait_containerd_gone "$n"
  say "n$n: dockerd (pid $pid) killed with SIGKILL"
}

cmd_kill_node() {
  local n pids=() id pid
  n="$(node_arg "${1:?usage: kill-node NODE}")"
  [[ -n "$(engine_pid "$n")" ]] || die "n$n: dockerd is not running"
  # The containers' processes live in network namespaces of their own: find them through the
  # engine first, then take everything in the node's namespace (dockerd, containerd, shims).
  for id in $(dk "$n" ps -q 2>/dev/null); do
    pid="$(dk "$n" inspect --format '{{.State.Pid}}' "$id" 2>/dev/null || true)"
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] && pids+=("$pid")
  done
  while read -r pid; do [[ -n "$pid" ]] && pids+=("$pid"); done < <(ip netns pids "$(ns_of "$n")" 2>/dev/null)
  kill -KILL "${pids[@]}" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
  done
  say "n$n: lost (SIGKILL to ${#pids[@]} processes: its containers, dockerd, containerd, shims)"
}

cmd_start_engine() {
  local n
  n="$(node_arg "${1:?usage: start-engine NODE}")"
  ensure_netns "$n"
  start_engine "$n"
  say "n$n: dockerd running (pid $(engine_pid "$n")), swarm state $(swarm_state "$n")"
}

# ---- partitions -----------------------------------------------------------------------------------
# Rules live in the node's own network namespace (chain SCC-PARTITION, jumped to from INPUT and
# OUTPUT), so the host, the bridge and every other node are untouched; the engines run with
# --iptables=false, so nothing else writes these tables. Packets are dropped, not refused: the
# peers see what a cut cable gives, time-outs.
PCHAIN=SCC-PARTITION
ipt_in() { local n=$1; shift; nsenter --net="/run/netns/$(ns_of "$n")" iptables -w "$@"; }

cmd_partition() {
  local n peers=() p
  read_topology
  n="$(node_arg "${1:?usage: partition NODE [PEER...]}")"; shift
  if (($#)); then
    for p in "$@"; do peers+=("$(node_arg "$p")"); done
  else
    for ((p = 1; p <= MANAGERS; p++)); do ((p != n)) && peers+=("$p"); done
  fi
  ((${#peers[@]})) || die "n$n: no other manager to cut it off from (name the peers)"
  [[ -e "/run/netns/$(ns_of "$n")" ]] || die "n$n: no network namespace $(ns_of "$n")"
  ipt_in "$n" -N "$PCHAIN" 2>/dev/null || true
  ipt_in "$n" -C INPUT -j "$PCHAIN" 2>/dev/null || ipt_in "$n" -I INPUT 1 -j "$PCHAIN"
  ipt_in "$n" -C OUTPUT -j "$PCHAIN" 2>/dev/null || ipt_in "$n" -I OUTPUT 1 -j "$PCHAIN"
  for p in "${peers[@]}"; do
    ((p != n)) || die "n$n cannot be cut off from itself"
    ipt_in "$n" -C "$PCHAIN" -s "$(addr_of "$p")" -j DROP 2>/dev/null || ipt_in "$n" -A "$PCHAIN" -s "$(addr_of "$p")" -j DROP
    ipt_in "$n" -C "$PCHAIN" -d "$(addr_of "$p")" -j DROP 2>/dev/null || ipt_in "$n" -A "$PCHAIN" -d "$(addr_of "$p")" -j DROP
  done
  say "n$n: cut off from $(printf 'n%s ' "${peers[@]}")(packets dropped inside $(ns_of "$n"))"
}

cmd_heal() {
  local n
  n="$(node_arg "${1:?usage: heal NODE}")"
  [[ -e "/run/netns/$(ns_of "$n")" ]] || return 0
  ipt_in "$n" -D INPUT -j "$PCHAIN" 2>/dev/null || true
  ipt_in "$n" -D OUTPUT -j "$PCHAIN" 2>/dev/null || true
  ipt_in "$n" -F "$PCHAIN" 2>/dev/null || true
  ipt_in "$n" -X "$PCHAIN" 2>/dev/null || true
  say "n$n: partition healed"
}

cmd_partitions() {
  read_topology
  local n p
  for ((n = 1; n <= MANAGERS + WORKERS; n++)); do
    [[ -e "/run/netns/$(ns_of "$n")" ]] || continue
    for ((p = 1; p <= MANAGERS + WORKERS; p++)); do
      ipt_in "$n" -C "$PCHAIN" -d "$(addr_of "$p")" -j DROP 2>/dev/null && echo "n$n n$p"
    done
  done
  return 0
}

cmd_down() {
  local purge=0
  case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    *) die "unknown option for down: $1" ;;
  esac
  local total=0 n
  if [[ -f "$D/topology" ]]; then read_topology; total=$((MANAGERS + WORKERS)); fi
  # A killed engine left its containers running (their shims outlive dockerd): start it
  # again so that it stops them itself (it does at start-up, having no live-restore).
  for ((n = 1; n <= total; n++)); do
    if [[ -z "$(engine_pid "$n")" && -d "$(dir_of "$n")/root" && -e "/run/netns/$(ns_of "$n")" ]] &&
       ip link show dev "$BRIDGE" >/dev/null 2>&1; then
      say "n$n: its engine is not running; starting it so that it stops its containers"
      (start_engine "$n") || say "warning: n$n: could not start its engine; its containers may be left running"
    fi
  done
  # Stop every engine at once (each stops its containers), workers and managers alike.
  local pids=()
  for ((n = total; n >= 1; n--)); do stop_engine "$n" TERM & pids+=($!); done
  for n in "${pids[@]}"; do wait "$n" || true; done
  for ((n = 1; n <= total; n++)); do
    rm -f "$(dir_of "$n")/dockerd.pid"
    ip link del dev "scc-v$n" 2>/dev/null || true
    ip netns del "$(ns_of "$n")" 2>/dev/null || true
  done
  remove_host_net
  if ((purge)) && [[ -d "$D" ]]; then
    local m
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
      awk -v d="$D/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
    rm -rf --one-file-system "$D" || die "could not remove $D"
  fi
  say "down$( ((purge)) && echo ", state removed")"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  nodes) cmd_nodes ;;
  kill-engine) shift; cmd_kill_engine "$@" ;;
  kill-node) shift; cmd_kill_node "$@" ;;
  start-engine) shift; cmd_start_engine "$@" ;;
  partition) shift; cmd_partition "$@" ;;
  heal) shift; cmd_heal "$@" ;;
  partitions) cmd_partitions ;;
  *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
