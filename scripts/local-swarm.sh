#!/usr/bin/env bash
# A private single-node Docker Swarm for tests, run by its own dockerd (no systemd), on one of
# several engines. Each engine has its own state dir, so they can all run at once.
#
#   scripts/local-swarm.sh [--engine E] up            start (or reuse) it; prints the export lines
#   scripts/local-swarm.sh [--engine E] env           print those lines if it is running
#   scripts/local-swarm.sh [--engine E] status        exit 0 when it is up (daemon answers, swarm active)
#   scripts/local-swarm.sh [--engine E] down [--purge] leave the swarm, stop the daemon, drop routes,
#                                        links and namespaces; --purge also deletes the state dir
#   scripts/local-swarm.sh [--engine E] down --keep-swarm  stop the daemon but stay in the swarm: the
#                                        next `up` resumes it with everything deployed on it
#
# Usage: eval "$(scripts/local-swarm.sh up)"   or   eval "$(scripts/local-swarm.sh --engine sid up)"
#
# Engines (--engine, anywhere on the command line, or SC_ENGINE; default bookworm):
#   bookworm  the host's docker.io (20.10, API 1.41), in the host's network namespace; state in
#             /run/sc-swarm. Published ports are reached at 127.0.0.1.
#   sid       Debian sid's docker.io (28.5, API 1.51), forky the same from testing, trixie 26.1
#             (API 1.45): a "rootfs engine" (below); state in /run/sc-swarm-<engine>.
#
# `up` and `env` print three lines (only these go to stdout; progress and errors go to stderr):
#   export DOCKER_HOST=unix://<state dir>/docker.sock
#   export SC_PUBLISHED_ADDR=<where the host reaches ports published in host mode>
#   export SC_HOST_ADDR=<where the engine reaches the host, e.g. a registry of a test>
# both 127.0.0.1 for bookworm.
#
# The daemon is found and stopped only through our pid file, never by name, so another
# dockerd on this machine (e.g. the default /var/run/docker.sock one) is left alone.
#
# bookworm: coexistence with another dockerd in the same network namespace:
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
# Rootfs engines (sid, trixie, forky): the suite's docker.io in a Debian root of its own,
#   - made once by debootstrap (+ apt-get install docker.io, docker-cli where the suite splits it
#     out) in /var/lib/sc-engines/<engine> (about 1.5 minutes; kept; made again when incomplete or
#     when this recipe changes). The mirror's Release files may be past their Valid-Until: apt
#     is told not to check that date (signatures are still checked);
#   - its dockerd runs in a network namespace of its own (sc-<engine>, a veth pair to the host:
#     a second Swarm in the host's namespace would collide on 2377, 7946 and 4789) and in a mount
#     namespace of its own whose root is that Debian root (pivot_root): its containers see their
#     images, never the host's files. From the host it sees only /dev, the cgroup hierarchy,
#     /tmp (so bind mounts of temporary dirs work, as the e2e tests make them) and its state dir,
#     mounted at the same path as on the host: the host's docker CLI and a service that
#     bind-mounts <state dir>/docker.sock both reach it at that path;
#   - addresses (engine slot k: sid 1, trixie 2, forky 3; block 10.217.16k.0/20):
#       veth link 10.217.16k.0/24: host side .1 (SC_HOST_ADDR), engine side .2 (SC_PUBLISHED_ADDR);
#       default bridge 10.217.(16k+1).1/24 and docker_gwbridge 10.217.(16k+2).0/24, inside its namespace;
#       swarm overlay pool 10.(217+k).0.0/16.
#     The pool and the block are `unreachable` from the host (the link /24 stays routed to the
#     veth); the namespace has no default route, so nothing there reaches beyond the link;
#   - `--insecure-registry <SC_HOST_ADDR>/32`: a plain-HTTP registry a test runs on the host's
#     side of the link works, as a registry on 127.0.0.1 does for bookworm's engine;
#   - also listens on tcp://<SC_PUBLISHED_ADDR>:2376 with --tlsverify; a CA, server and client
#     certificates are made with openssl in <state dir>/tls (client files in tls/client as
#     ca.pem, cert.pem, key.pem, the DOCKER_CERT_PATH layout):
#       DOCKER_HOST=tcp://10.217.16.2:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=/run/sc-swarm-sid/tls/client docker info
#   - `--iptables=false` as for bookworm (its namespace has nothing to forward); daemon label
#     org.swarm-controller.engine=<engine> and org.swarm-controller.offline=true (it cannot reach
#     any registry: scripts/engine-images.sh builds its images elsewhere and loads them).
#
# Settings (environment):
#   SC_ENGINE                bookworm | sid | trixie | forky (as --engine)
#   SC_SWARM_DIR             bookworm's state dir (default /run/sc-swarm; keep it short: socket path <108 bytes)
#   SC_SWARM_ADDR_POOL       bookworm's swarm overlay pool, made unreachable from the host (default 10.213.0.0/16)
#   SC_SWARM_BRIDGE          bookworm's default bridge interface (default sc-docker0)
#   SC_SWARM_BRIDGE_CIDR     its address (default 10.214.0.1/24)
#   SC_SWARM_GWBRIDGE        bookworm's docker_gwbridge interface name (default sc_gwbridge)
#   SC_SWARM_GWBRIDGE_SUBNET its subnet (default 10.214.1.0/24)
#   SC_ENGINE_DIR            a rootfs engine's state dir (default /run/sc-swarm-<engine>)
#   SC_ENGINE_ROOTS          where rootfs engines' Debian roots are kept (default /var/lib/sc-engines)
#   SC_DEBIAN_MIRROR         Debian mirror for debootstrap and apt (default http://deb.debian.org/debian)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { echo "local-swarm: $*" >&2; }
die() { echo "local-swarm: error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 2; }

# ---- the engine ---------------------------------------------------------------------------------
ENGINE="${SC_ENGINE:-bookworm}"
ARGS=()
while (($#)); do
  case "$1" in
    --engine) (($# >= 2)) || die "--engine needs a value (bookworm, sid, trixie or forky)"; ENGINE=$2; shift 2 ;;
    --engine=*) ENGINE=${1#*=}; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
set -- "${ARGS[@]+"${ARGS[@]}"}"

case "$ENGINE" in
  bookworm) KIND=host ;;
  sid) KIND=rootfs SLOT=1 SUITE=sid DEBOOTSTRAP_SCRIPT=sid ;;
  trixie) KIND=rootfs SLOT=2 SUITE=trixie DEBOOTSTRAP_SCRIPT=trixie ;;
  # bookworm's debootstrap has no forky script; sid's makes a forky root.
  forky) KIND=rootfs SLOT=3 SUITE=forky DEBOOTSTRAP_SCRIPT=sid ;;
  *) die "unknown engine '$ENGINE' (bookworm, sid, trixie or forky)" ;;
esac

if [[ $KIND == host ]]; then
  D="${SC_SWARM_DIR:-/run/sc-swarm}"
  POOL="${SC_SWARM_ADDR_POOL:-10.213.0.0/16}"
  BRIDGE="${SC_SWARM_BRIDGE:-sc-docker0}"
  BRIDGE_CIDR="${SC_SWARM_BRIDGE_CIDR:-10.214.0.1/24}"
  GW_BRIDGE="${SC_SWARM_GWBRIDGE:-sc_gwbridge}"
  GW_SUBNET="${SC_SWARM_GWBRIDGE_SUBNET:-10.214.1.0/24}"
  ADVERTISE=127.0.0.1 PUBLISHED_ADDR=127.0.0.1 HOST_ADDR=127.0.0.1
else
  D="${SC_ENGINE_DIR:-/run/sc-swarm-$ENGINE}"
  ROOTS="${SC_ENGINE_ROOTS:-/var/lib/sc-engines}"
  ROOT="$ROOTS/$ENGINE"
  MIRROR="${SC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  NET3="10.217.$((16 * SLOT))"
  BLOCK="$NET3.0/20"
  HOST_ADDR="$NET3.1" ADDR="$NET3.2"
  ADVERTISE=$ADDR PUBLISHED_ADDR=$ADDR
  BIP="10.217.$((16 * SLOT + 1)).1/24"
  GW_SUBNET="10.217.$((16 * SLOT + 2)).0/24"
  POOL="10.$((217 + SLOT)).0.0/16"
  NS="sc-$ENGINE" VETH="sc-$ENGINE-h"
  TLS_PORT=2376
fi
SOCK="$D/docker.sock"
PIDFILE="$D/dockerd.pid"
LOG="$D/dockerd.log"
START_TIMEOUT=60
STOP_TIMEOUT=45

host_lines() {
  echo "export DOCKER_HOST=unix://$SOCK"
  echo "export SC_PUBLISHED_ADDR=$PUBLISHED_ADDR"
  echo "export SC_HOST_ADDR=$HOST_ADDR"
}

dk() { env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST="unix://$SOCK" docker "$@"; }

log_tail() {
  if [[ -f "$LOG" ]]; then
    echo "---- last lines of $LOG ----" >&2
    tail -n 25 "$LOG" >&2
    echo "----" >&2
  fi
}

# ---- processes ----------------------------------------------------------------------------------
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

answers() { timeout 10 env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

swarm_state() { timeout 10 env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY DOCKER_HOST="unix://$SOCK" docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true; }

# ---- guard routes -------------------------------------------------------------------------------
route_state() {
  # route_state PREFIX -> absent | ours | other
  local r
  r="$(ip route show exact "$1" 2>/dev/null || true)"
  if [[ -z "$r" ]]; then echo absent
  elif [[ "$r" == unreachable* ]]; then echo ours
  else echo other
  fi
}

guards() { if [[ $KIND == host ]]; then echo "$POOL"; else echo "$POOL $BLOCK"; fi; }

ensure_route() {
  local p
  for p in $(guards); do
    case "$(route_state "$p")" in
      ours) ;;
      absent) ip route add unreachable "$p" || die "could not add 'unreachable $p' route" ;;
      other) die "a route for $p already exists and is not ours: $(ip route show exact "$p")" ;;
    esac
  done
}

remove_route() {
  local p
  for p in $(guards); do
    if [[ "$(route_state "$p")" == ours ]]; then
      ip route del unreachable "$p" 2>/dev/null || say "warning: could not remove route 'unreachable $p'"
    fi
  done
}

# ---- bookworm: bridge and iptables in the host's namespace --------------------------------------
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
TAG=(-m comment --comment sc-swarm)

ipt_ensure() {  # table chain rule...
  local table=$1 chain=$2; shift 2
  iptables -w -t "$table" -C "$chain" "$@" 2>/dev/null ||
    iptables -w -t "$table" -I "$chain" 1 "$@" || die "iptables -t $table -I $chain $* failed"
}

ensure_iptables() {
  [[ $KIND == host ]] || return 0
  command -v iptables >/dev/null || die "iptables not found (it comes with docker.io)"
  local net
  for net in "$BRIDGE_CIDR" "$GW_SUBNET"; do
    ipt_ensure nat POSTROUTING -s "$net" ! -d "$net" "${TAG[@]}" -j MASQUERADE
    ipt_ensure filter FORWARD -s "$net" "${TAG[@]}" -j ACCEPT
    ipt_ensure filter FORWARD -d "$net" -m conntrack --ctstate RELATED,ESTABLISHED "${TAG[@]}" -j ACCEPT
  done
}

remove_iptables() {
  [[ $KIND == host ]] || return 0
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

# ---- rootfs engines: the Debian root, the network namespace, TLS -----------------------------------
# Bump when what ensure_rootfs makes changes: roots made by an older recipe are made again.
ROOTFS_RECIPE=1

rootfs_ready() { [[ -f "$ROOT/.sc-engine" ]] && grep -qx "recipe=$ROOTFS_RECIPE suite=$SUITE" "$ROOT/.sc-engine"; }

# Unmounts whatever is mounted below DIR (a failed build can leave /proc mounted there).
umount_below() {
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
    awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r)
}

ensure_rootfs() {
  rootfs_ready && return 0
  if [[ -n "$(our_pid)" ]]; then
    say "warning: $ROOT is not of the current recipe, but its engine is running: kept until the next 'down'"
    return 0
  fi
  mkdir -p "$ROOTS"
  # Two `up`s at once must not build the same root: the second waits and then finds it ready.
  (
    flock 9
    rootfs_ready && exit 0
    build_rootfs
  ) 9>"$ROOTS/.$ENGINE.lock" || exit 1
}

build_rootfs() {
  command -v debootstrap >/dev/null || die "debootstrap not found; run scripts/install-deps.sh"
  [[ -f "/usr/share/debootstrap/scripts/$DEBOOTSTRAP_SCRIPT" ]] || die "debootstrap has no '$DEBOOTSTRAP_SCRIPT' script"
  local tmp="$ROOTS/.$ENGINE.new" t0=$SECONDS blog="$ROOTS/.$ENGINE.build.log"
  umount_below "$tmp"; rm -rf --one-file-system "$tmp"
  say "making the $SUITE root in $ROOT: debootstrap (log $blog; about 1.5 minutes)"
  : >"$blog"
  debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" "/usr/share/debootstrap/scripts/$DEBOOTSTRAP_SCRIPT" >>"$blog" 2>&1 ||
    { tail -n 20 "$blog" >&2; die "debootstrap $SUITE failed"; }
  echo "deb $MIRROR $SUITE main" >"$tmp/etc/apt/sources.list"
  # The mirror's Release file may be past its Valid-Until (forky's and sid's were, here);
  # the signatures are still checked.
  echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/90sc-valid-until"
  echo 'Acquire::Languages "none";' >"$tmp/etc/apt/apt.conf.d/90sc-no-languages"
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    >"$tmp/etc/dpkg/dpkg.cfg.d/90sc-exclude"
  # Package installs start no services.
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d" && chmod 755 "$tmp/usr/sbin/policy-rc.d"
  local pkgs=(docker.io iptables)
  mount -t proc proc "$tmp/proc"
  # shellcheck disable=SC2064
  trap "umount -l '$tmp/proc' 2>/dev/null || true" EXIT
  chroot "$tmp" apt-get update -q >>"$blog" 2>&1 || { tail -n 20 "$blog" >&2; die "apt-get update in the $SUITE root failed"; }
  # forky and sid ship the CLI as docker-cli; docker.io wants systemd's sysusers, and the
  # standalone one keeps systemd itself out.
  if [[ -n "$(chroot "$tmp" apt-cache show --no-all-versions docker-cli 2>/dev/null)" ]]; then pkgs+=(docker-cli); fi
  if [[ -n "$(chroot "$tmp" apt-cache show --no-all-versions systemd-standalone-sysusers 2>/dev/null)" ]]; then pkgs+=(systemd-standalone-sysusers); fi
  say "installing ${pkgs[*]} in the $SUITE root"
  DEBIAN_FRONTEND=noninteractive chroot "$tmp" apt-get install -y -q --no-install-recommends "${pkgs[@]}" >>"$blog" 2>&1 ||
    { tail -n 20 "$blog" >&2; die "apt-get install ${pkgs[*]} in the $SUITE root failed"; }
  chroot "$tmp" apt-get clean >>"$blog" 2>&1 || true
  umount -l "$tmp/proc"; trap - EXIT
  rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin
  local version
  version="$(chroot "$tmp" dockerd --version 2>/dev/null)" || die "dockerd does not run in the $SUITE root"
  printf 'recipe=%s suite=%s\n%s\n' "$ROOTFS_RECIPE" "$SUITE" "$version" >"$tmp/.sc-engine"
  [[ ! -e "$ROOT" ]] || { umount_below "$ROOT"; rm -rf --one-file-system "$ROOT"; }
  mv "$tmp" "$ROOT"
  say "$SUITE root ready in $((SECONDS - t0)) s ($(du -sh --one-file-system "$ROOT" | cut -f1), $version)"
}

ensure_netns() {
  # (a name left without its namespace, after a reboot with /run on disk, is made again)
  if [[ -e "/run/netns/$NS" ]] && ! awk -v p="/run/netns/$NS" '$2 == p {f = 1} END {exit !f}' /proc/self/mounts; then
    rm -f "/run/netns/$NS"
  fi
  [[ -e "/run/netns/$NS" ]] || ip netns add "$NS" || die "could not create network namespace $NS"
  if ! ip link show dev "$VETH" >/dev/null 2>&1; then
    ip -n "$NS" link del dev eth0 2>/dev/null || true
    ip link add "$VETH" type veth peer name eth0 netns "$NS" || die "could not create veth $VETH"
  fi
  ip -4 addr show dev "$VETH" | grep -qw "inet $HOST_ADDR/24" || ip addr add "$HOST_ADDR/24" dev "$VETH"
  ip link set dev "$VETH" up
  ip -n "$NS" link set dev lo up
  ip -n "$NS" -4 addr show dev eth0 | grep -qw "inet $ADDR/24" || ip -n "$NS" addr add "$ADDR/24" dev eth0
  ip -n "$NS" link set dev eth0 up
}

remove_netns() {
  ip link del dev "$VETH" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}

# A CA, a server certificate for tcp://$ADDR:2376 and a client certificate, made once.
ensure_tls() {
  local t="$D/tls"
  if [[ -f "$t/server-cert.pem" && -f "$t/client/cert.pem" ]] &&
     openssl x509 -in "$t/server-cert.pem" -noout -checkend 2592000 >/dev/null 2>&1 &&
     openssl x509 -in "$t/server-cert.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$ADDR\b"; then
    return 0
  fi
  command -v openssl >/dev/null || die "openssl not found; run scripts/install-deps.sh"
  say "making TLS certificates in $t"
  rm -rf "$t"; mkdir -p "$t/client"; chmod 700 "$t"
  local log="$t/openssl.log"
  {
    openssl req -x509 -new -nodes -newkey rsa:2048 -days 3650 -subj "/CN=swarm-controller $ENGINE engine CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$t/ca-key.pem" -out "$t/ca.pem" &&
    openssl req -new -nodes -newkey rsa:2048 -subj "/CN=$NS" -keyout "$t/server-key.pem" -out "$t/server.csr" &&
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial -days 825 \
      -extfile <(printf 'subjectAltName=IP:%s,DNS:%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' "$ADDR" "$NS") \
      -out "$t/server-cert.pem" &&
    openssl req -new -nodes -newkey rsa:2048 -subj "/CN=swarm-controller client" -keyout "$t/client/key.pem" -out "$t/client.csr" &&
    openssl x509 -req -in "$t/client.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial -days 825 \
      -extfile <(printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n') \
      -out "$t/client/cert.pem"
  } >"$log" 2>&1 || { cat "$log" >&2; die "openssl failed"; }
  cp "$t/ca.pem" "$t/client/ca.pem"
  rm -f "$t"/*.csr "$t"/*.srl
  chmod 600 "$t"/*-key.pem "$t/client/key.pem"
}

# Runs inside the engine's new network, mount and UTS namespaces (passed to bash with declare -f):
# makes the Debian root the root of its mount namespace, with the few host paths it shares,
# and execs its dockerd.
engine_init() {
  set -eu
  local root=$1 state=$2 name=$3; shift 3
  mount --make-rprivate /
  mount --bind "$root" "$root"                       # a mount point, for pivot_root
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"                   # this network namespace's devices
  mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup"
  mount --rbind /dev "$root/dev"
  mkdir -p "$state/run" "$root/run"
  mount --bind "$state/run" "$root/run"              # /run outlives a killed engine (shim sockets, runc state)
  mkdir -p "$root$state"
  mount --bind "$state" "$root$state"                # the socket at the same path as on the host
  mount --bind /tmp "$root/tmp"                      # bind mounts of temporary dirs (the e2e tests')
  if [[ -d /lib/modules ]]; then
    mkdir -p "$root/lib/modules"
    mount --bind /lib/modules "$root/lib/modules" && mount -o remount,bind,ro "$root/lib/modules"
  fi
  hostname "$name"
  cd "$root"
  mkdir -p .sc-old-root
  pivot_root . .sc-old-root
  cd /
  umount -l /.sc-old-root
  rmdir /.sc-old-root
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  exec dockerd "$@"
}

# ---- the daemon ---------------------------------------------------------------------------------
start_daemon() {
  (( ${#SOCK} < 100 )) || die "socket path too long (${#SOCK} bytes): $SOCK; set a shorter state dir"
  [[ $EUID -eq 0 ]] || die "must run as root to start dockerd"
  if [[ $KIND == host ]]; then
    command -v dockerd >/dev/null || die "dockerd not found; run scripts/install-deps.sh"
  else
    local bin
    for bin in ip nsenter unshare pivot_root; do command -v "$bin" >/dev/null || die "'$bin' not found; run scripts/install-deps.sh"; done
    ensure_rootfs
  fi
  mkdir -p "$D" && chmod 700 "$D"
  rm -f "$PIDFILE" "$SOCK"

  local args=(
    --data-root "$D/root"
    --exec-root "$D/exec"
    -H "unix://$SOCK"
    --pidfile "$PIDFILE"
    --iptables=false
  )
  if [[ $KIND == host ]]; then
    ensure_bridge
    ensure_iptables
    args+=(
      --bridge "$BRIDGE"
      --containerd-namespace sc-swarm
      --containerd-plugins-namespace sc-swarm-plugins
    )
    local mtu
    mtu="$(default_mtu)"
    [[ -n "$mtu" ]] && args+=(--mtu "$mtu")
  else
    ensure_netns
    ensure_tls
    args+=(
      -H "tcp://$ADDR:$TLS_PORT"
      --tlsverify --tlscacert "$D/tls/ca.pem" --tlscert "$D/tls/server-cert.pem" --tlskey "$D/tls/server-key.pem"
      --bip "$BIP"
      --insecure-registry "$HOST_ADDR/32"
      --cgroup-parent "/sc-$ENGINE"
      --label "org.swarm-controller.engine=$ENGINE"
      --label org.swarm-controller.offline=true
    )
  fi

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

  local launch=(dockerd "${args[@]}")
  if [[ $KIND == rootfs ]]; then
    # nsenter --net, not `ip netns exec` (which remounts /sys and breaks dockerd); the mount
    # namespace is private, so nothing mounted in it (the root, the containers' file systems)
    # reaches the host's, and nothing of the host's but what engine_init binds reaches it.
    launch=(nsenter "--net=/run/netns/$NS" unshare --mount --uts --propagation private --
      bash -c "$(declare -f engine_init); engine_init \"\$@\"" engine_init "$ROOT" "$D" "$NS" "${args[@]}")
  fi

  say "starting the $ENGINE engine's dockerd (state in $D, log $LOG)"
  echo "=== $(date -u +%FT%TZ) dockerd ${args[*]}" >>"$LOG"
  # The daemon must not inherit the caller's other descriptors: a lock held by the caller
  # (flock around a test run, say) would otherwise stay held for as long as dockerd lives.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid nohup "${launch[@]}" </dev/null >>"$LOG" 2>&1
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
    *) die "swarm is in state '${state:-unknown}' on $SOCK; try '$0 --engine $ENGINE down --purge' then '$0 --engine $ENGINE up'" ;;
  esac
  # Our own docker_gwbridge (must exist before swarm init): own subnet and, in the host's
  # namespace, own interface name, so it cannot clash with another daemon's docker_gwbridge.
  if ! dk network inspect docker_gwbridge >/dev/null 2>&1; then
    local name_opt=()
    [[ $KIND == host ]] && name_opt=(--opt com.docker.network.bridge.name="$GW_BRIDGE")
    dk network create --driver bridge --subnet "$GW_SUBNET" \
      "${name_opt[@]}" \
      --opt com.docker.network.bridge.enable_icc=false \
      --opt com.docker.network.bridge.enable_ip_masquerade=true \
      docker_gwbridge >/dev/null || die "could not create docker_gwbridge"
  fi
  say "initialising swarm (address pool $POOL)"
  local out
  if ! out="$(dk swarm init --advertise-addr "$ADVERTISE" \
        --default-addr-pool "$POOL" --default-addr-pool-mask-length 24 2>&1)"; then
    echo "$out" >&2; die "docker swarm init failed"
  fi
}

cmd_up() {
  [[ $# -eq 0 ]] || die "unknown option for up: $1"
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
  host_lines
}

cmd_env() {
  if [[ -n "$(our_pid)" ]] && answers; then
    host_lines
  else
    die "not running (no live dockerd from $PIDFILE); run '$0 --engine $ENGINE up'"
  fi
}

cmd_status() {
  local pid state p
  pid="$(our_pid)"
  if [[ -z "$pid" ]]; then echo "down (no live dockerd from $PIDFILE)"; return 1; fi
  state="$(swarm_state)"
  if [[ "$state" != active ]]; then echo "not up: dockerd pid $pid, swarm state '${state:-no answer}'"; return 1; fi
  for p in $(guards); do
    if [[ "$(route_state "$p")" != ours ]]; then echo "not up: route 'unreachable $p' is missing"; return 1; fi
  done
  local version
  version="$(dk version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo '?')"
  echo "up: $ENGINE engine $version, dockerd pid $pid, swarm active, DOCKER_HOST=unix://$SOCK"
}

# Processes left in a rootfs engine's network namespace once its dockerd is gone (the shims and
# containers of a killed engine) are ours by construction: end them.
end_leftovers() {
  [[ $KIND == rootfs && -e "/run/netns/$NS" ]] || return 0
  local pids=() pid
  while read -r pid; do [[ -n "$pid" ]] && pids+=("$pid"); done < <(ip netns pids "$NS" 2>/dev/null)
  ((${#pids[@]})) || return 0
  say "ending ${#pids[@]} process(es) left in network namespace $NS"
  kill -KILL "${pids[@]}" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
  done
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
  if [[ $KIND == host ]]; then
    remove_iptables
    # Our default bridge is recreated by `up`; docker recreates its gwbridge interface itself.
    ip link del dev "$BRIDGE" 2>/dev/null || true
    ((purge)) && { ip link del dev "$GW_BRIDGE" 2>/dev/null || true; }
  else
    end_leftovers
    remove_netns
  fi
  if ((purge)) && [[ -d "$D" ]]; then
    # Anything still mounted below $D (e.g. after a SIGKILL) must go first.
    umount_below "$D"
    rm -rf --one-file-system "$D" || die "could not remove $D"
  fi
  return 0
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) usage ;;
esac
