#!/usr/bin/env bash
# A private single-node Docker Swarm for tests, run by its own dockerd (no systemd).
#
#   scripts/local-swarm.sh up            start (or reuse) it; prints `export DOCKER_HOST=...`
#   scripts/local-swarm.sh env           print that line if it is running
#   scripts/local-swarm.sh status        exit 0 when it is up (daemon answers, swarm active)
#   scripts/local-swarm.sh down [--purge] leave the swarm, stop the daemon, drop the route;
#                                        --purge also deletes the state dir and our bridges
#   scripts/local-swarm.sh down --keep-swarm  stop the daemon but stay in the swarm: the next
#                                        `up` resumes it with everything deployed on it
#
# Usage: eval "$(scripts/local-swarm.sh up)"
#
# Only stdout of `up`/`env` is the export line; progress and errors go to stderr.
# The daemon is found and stopped only through our pid file, never by name, so another
# dockerd on this machine (e.g. the default /var/run/docker.sock one) is left alone.
#
# Coexistence with another dockerd in the same network namespace:
#   - own socket, pid file, data root and exec root under $SC_SWARM_DIR;
#   - own containerd namespaces (dockerd 20.10 reuses a system containerd when
#     /run/containerd/containerd.sock exists);
#   - own default bridge (`--bridge`, default sc-docker0), own docker_gwbridge bridge name
#     (sc_gwbridge) and subnets: nothing named docker0 / docker_gwbridge, no 172.17.0.0/16;
#   - no `--default-address-pool` and no `--bridge none`: with either, dockerd 20.10 deletes
#     the interface named docker0 at start-up (removeDefaultBridgeInterface), i.e. the other
#     daemon's bridge (tried). Local bridge networks created on our daemon therefore come
#     from Docker's default pools; give them explicit subnets;
#   - `--iptables=false`: a dockerd starting with iptables enabled flushes the shared DOCKER
#     nat/filter chains, i.e. the other daemon's published-port DNAT rules (tried).
#     Published ports then go through docker-proxy, and this script adds the few rules we
#     need itself (MASQUERADE + FORWARD accept for our subnets, tagged "sc-swarm").
#
# Settings (environment):
#   SC_SWARM_DIR             state dir (default /run/sc-swarm; keep it short: socket path <108 bytes)
#   SC_SWARM_ADDR_POOL       swarm overlay pool, made unreachable from the host (default 10.213.0.0/16)
#   SC_SWARM_BRIDGE          default bridge interface (default sc-docker0)
#   SC_SWARM_BRIDGE_CIDR     its address (default 10.214.0.1/24)
#   SC_SWARM_GWBRIDGE        docker_gwbridge interface name (default sc_gwbridge)
#   SC_SWARM_GWBRIDGE_SUBNET docker_gwbridge subnet (default 10.214.1.0/24)
set -euo pipefail

D="${SC_SWARM_DIR:-/run/sc-swarm}"
SOCK="$D/docker.sock"
PIDFILE="$D/dockerd.pid"
LOG="$D/dockerd.log"
POOL="${SC_SWARM_ADDR_POOL:-10.213.0.0/16}"
BRIDGE="${SC_SWARM_BRIDGE:-sc-docker0}"
BRIDGE_CIDR="${SC_SWARM_BRIDGE_CIDR:-10.214.0.1/24}"
GW_BRIDGE="${SC_SWARM_GWBRIDGE:-sc_gwbridge}"
GW_SUBNET="${SC_SWARM_GWBRIDGE_SUBNET:-10.214.1.0/24}"
START_TIMEOUT=60
STOP_TIMEOUT=45

HOST_LINE="export DOCKER_HOST=unix://$SOCK"

say() { echo "local-swarm: $*" >&2; }
die() { echo "local-swarm: error: $*" >&2; exit 1; }

dk() { env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST="unix://$SOCK" docker "$@"; }

log_tail() {
  if [[ -f "$LOG" ]]; then
    echo "---- last lines of $LOG ----" >&2
    tail -n 25 "$LOG" >&2
    echo "----" >&2
  fi
}

# True when the process exists and is not a zombie.
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}

# Pid from our pid file if that process is alive and is a dockerd; empty otherwise.
our_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 0
  pid="$(tr -dc 0-9 <"$PIDFILE")"
  [[ -n "$pid" ]] || return 0
  alive "$pid" || return 0
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 0
  # Guard against pid reuse: it must be the dockerd serving our socket.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "unix://$SOCK " || return 0
  echo "$pid"
}

answers() { timeout 10 env -u DOCKER_CONTEXT DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

swarm_state() { timeout 10 env -u DOCKER_CONTEXT DOCKER_HOST="unix://$SOCK" docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true; }

route_state() {
  # prints: absent | ours | other
  local r
  r="$(ip route show exact "$POOL" 2>/dev/null || true)"
  if [[ -z "$r" ]]; then echo absent
  elif [[ "$r" == unreachable* ]]; then echo ours
  else echo other
  fi
}

ensure_route() {
  case "$(route_state)" in
    ours) ;;
    absent) ip route add unreachable "$POOL" || die "could not add 'unreachable $POOL' route" ;;
    other) die "a route for $POOL already exists and is not ours: $(ip route show exact "$POOL")" ;;
  esac
}

remove_route() {
  if [[ "$(route_state)" == ours ]]; then
    ip route del unreachable "$POOL" 2>/dev/null || say "warning: could not remove route 'unreachable $POOL'"
  fi
}

ensure_bridge() {
  if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    ip link add name "$BRIDGE" type bridge || die "could not create bridge $BRIDGE"
  fi
  if ! ip -4 addr show dev "$BRIDGE" | grep -qw "inet ${BRIDGE_CIDR}"; then
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE" || die "could not add $BRIDGE_CIDR to $BRIDGE"
  fi
  ip link set dev "$BRIDGE" up
}

# iptables rules for our subnets (dockerd runs with --iptables=false), tagged with a comment.
OUR_NETS=("$BRIDGE_CIDR" "$GW_SUBNET")
TAG=(-m comment --comment sc-swarm)

ipt_ensure() {  # table chain rule...
  local table=$1 chain=$2; shift 2
  iptables -w -t "$table" -C "$chain" "$@" 2>/dev/null ||
    iptables -w -t "$table" -I "$chain" 1 "$@" || die "iptables -t $table -I $chain $* failed"
}

ensure_iptables() {
  command -v iptables >/dev/null || die "iptables not found (it comes with docker.io)"
  local net
  for net in "${OUR_NETS[@]}"; do
    ipt_ensure nat POSTROUTING -s "$net" ! -d "$net" "${TAG[@]}" -j MASQUERADE
    ipt_ensure filter FORWARD -s "$net" "${TAG[@]}" -j ACCEPT
    ipt_ensure filter FORWARD -d "$net" -m conntrack --ctstate RELATED,ESTABLISHED "${TAG[@]}" -j ACCEPT
  done
}

remove_iptables() {
  command -v iptables >/dev/null || return 0
  local table line
  for table in nat filter; do
    while read -r line; do
      [[ "$line" == "-A "*"--comment sc-swarm"* ]] || continue
      eval "iptables -w -t $table ${line/#-A /-D }" 2>/dev/null || true
    done < <(iptables -w -t "$table" -S 2>/dev/null || true)
  done
}

default_mtu() {
  # MTU of the interface holding the default route, if below 1500 (else nothing).
  local dev mtu
  dev="$(ip route show default 2>/dev/null | awk '{for (i=1;i<NF;i++) if ($i=="dev") {print $(i+1); exit}}')"
  [[ -n "$dev" ]] || return 0
  mtu="$(cat "/sys/class/net/$dev/mtu" 2>/dev/null || true)"
  [[ -n "$mtu" && "$mtu" -lt 1500 ]] && echo "$mtu"
  return 0
}

start_daemon() {
  (( ${#SOCK} < 100 )) || die "socket path too long (${#SOCK} bytes): $SOCK; set a shorter SC_SWARM_DIR"
  command -v dockerd >/dev/null || die "dockerd not found; run scripts/install-deps.sh"
  [[ $EUID -eq 0 ]] || die "must run as root to start dockerd"
  mkdir -p "$D" && chmod 700 "$D"
  rm -f "$PIDFILE" "$SOCK"
  ensure_bridge
  ensure_iptables

  local args=(
    --data-root "$D/root"
    --exec-root "$D/exec"
    -H "unix://$SOCK"
    --pidfile "$PIDFILE"
    --bridge "$BRIDGE"
    --iptables=false
    --containerd-namespace sc-swarm
    --containerd-plugins-namespace sc-swarm-plugins
  )
  local mtu
  mtu="$(default_mtu)"
  [[ -n "$mtu" ]] && args+=(--mtu "$mtu")

  # A dockerd that was killed leaves its containerd dying (or orphaned). A new dockerd finds
  # that pid "still running", adopts it and times out waiting for its socket: end it first.
  local cpid
  cpid="$(cat "$D/exec/containerd/containerd.pid" 2>/dev/null || true)"
  if [[ -n "$cpid" && -r "/proc/$cpid/cmdline" ]] && tr '\0' ' ' <"/proc/$cpid/cmdline" | grep -q -- "$D/exec/containerd"; then
    say "ending the containerd left by a previous dockerd (pid $cpid)"
    kill "$cpid" 2>/dev/null || true
    for _ in $(seq 1 40); do [[ -d "/proc/$cpid" ]] || break; sleep 0.25; done
    kill -9 "$cpid" 2>/dev/null || true
  fi
  rm -f "$D/exec/containerd/containerd.pid"

  say "starting dockerd (state in $D, log $LOG)"
  echo "=== $(date -u +%FT%TZ) dockerd ${args[*]}" >>"$LOG"
  # The daemon must not inherit the caller's other descriptors: a lock held by the caller
  # (flock around a test run, say) would otherwise stay held for as long as dockerd lives.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid nohup dockerd "${args[@]}" </dev/null >>"$LOG" 2>&1
  ) &
  local launcher=$!

  local deadline=$((SECONDS + START_TIMEOUT))
  until answers; do
    if ! alive "$launcher" && [[ -z "$(our_pid)" ]]; then
      log_tail; die "dockerd exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      log_tail; die "dockerd did not answer on $SOCK within ${START_TIMEOUT}s (left running, pid $(our_pid); 'down' stops it)"
    fi
    sleep 0.5
  done
  [[ -n "$(our_pid)" ]] || { log_tail; die "dockerd answers but pid file $PIDFILE is missing or stale"; }
}

ensure_swarm() {
  local state
  state="$(swarm_state)"
  case "$state" in
    active) return 0 ;;
    inactive) ;;
    *) die "swarm is in state '${state:-unknown}' on $SOCK; try '$0 down --purge' then '$0 up'" ;;
  esac
  # Our own docker_gwbridge (must exist before swarm init): own interface name and subnet,
  # so it cannot clash with another daemon's docker_gwbridge on this host.
  if ! dk network inspect docker_gwbridge >/dev/null 2>&1; then
    dk network create --driver bridge --subnet "$GW_SUBNET" \
      --opt com.docker.network.bridge.name="$GW_BRIDGE" \
      --opt com.docker.network.bridge.enable_icc=false \
      --opt com.docker.network.bridge.enable_ip_masquerade=true \
      docker_gwbridge >/dev/null || die "could not create docker_gwbridge"
  fi
  say "initialising swarm (address pool $POOL)"
  local out
  if ! out="$(dk swarm init --advertise-addr 127.0.0.1 \
        --default-addr-pool "$POOL" --default-addr-pool-mask-length 24 2>&1)"; then
    echo "$out" >&2; die "docker swarm init failed"
  fi
}

cmd_up() {
  local pid
  pid="$(our_pid)"
  if [[ -n "$pid" ]]; then
    if ! answers; then
      say "dockerd (pid $pid) is running but not answering yet; waiting"
      local deadline=$((SECONDS + START_TIMEOUT))
      until answers; do
        ((SECONDS < deadline)) || { log_tail; die "our dockerd (pid $pid) does not answer on $SOCK; '$0 down' stops it"; }
        sleep 0.5
      done
    fi
  else
    start_daemon
  fi
  ensure_swarm
  ensure_route
  ensure_iptables
  echo "$HOST_LINE"
}

cmd_env() {
  if [[ -n "$(our_pid)" ]] && answers; then
    echo "$HOST_LINE"
  else
    die "not running (no live dockerd from $PIDFILE); run '$0 up'"
  fi
}

cmd_status() {
  local pid state
  pid="$(our_pid)"
  if [[ -z "$pid" ]]; then echo "down (no live dockerd from $PIDFILE)"; return 1; fi
  state="$(swarm_state)"
  if [[ "$state" != active ]]; then echo "not up: dockerd pid $pid, swarm state '${state:-no answer}'"; return 1; fi
  if [[ "$(route_state)" != ours ]]; then echo "not up: route 'unreachable $POOL' is missing"; return 1; fi
  echo "up: dockerd pid $pid, swarm active, DOCKER_HOST=unix://$SOCK"
}

cmd_down() {
  local purge=0 leave=1
  case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    --keep-swarm) leave=0 ;;
    *) die "unknown option for down: $1" ;;
  esac
  local pid
  pid="$(our_pid)"
  if [[ -n "$pid" ]]; then
    if ((leave)) && [[ "$(swarm_state)" =~ ^(active|pending|error|locked)$ ]]; then
      dk swarm leave --force >/dev/null 2>&1 || say "warning: 'docker swarm leave --force' failed"
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while alive "$pid"; do
      if ((SECONDS >= deadline)); then
        say "dockerd (pid $pid) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
        break
      fi
      sleep 0.2
    done
  fi
  rm -f "$PIDFILE"
  remove_route
  remove_iptables
  # Our default bridge is recreated by `up`; docker recreates its gwbridge interface itself.
  ip link del dev "$BRIDGE" 2>/dev/null || true
  if ((purge)); then
    ip link del dev "$GW_BRIDGE" 2>/dev/null || true
    if [[ -d "$D" ]]; then
      # Anything still mounted below $D (e.g. after a SIGKILL) must go first.
      local m
      while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
        awk -v d="$D/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
      rm -rf "$D" || die "could not remove $D"
    fi
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) echo "usage: $0 up | down [--purge | --keep-swarm] | env | status" >&2; exit 2 ;;
esac
