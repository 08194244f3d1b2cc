# swarm-controller images (see docs/images.md).
#
#   docker build --target controller -t swarm-controller/controller:dev .
#   docker build --target proxy      -t swarm-controller/proxy:dev .
#
# BASE_IMAGE is the Node LTS runtime every stage starts from: the official
# node:26-bookworm-slim by default; scripts/build-images.sh passes a locally built
# equivalent (swarm-controller/node:26) where no registry is reachable.
#
# Written for both builders: the legacy builder of engine 20.10 (what scripts/build-images.sh
# uses) and BuildKit. So: no "# syntax=" line (BuildKit would pull the frontend image from a
# registry), no RUN --mount, no COPY --link/--chmod, no heredocs.
# The legacy builder builds every stage above the requested target, used or not; the stages
# are ordered so that building `controller` (the last stage, also the default target) costs
# at most the cached proxy stage.
#
# Runtime images run as root on purpose: the controller (and the proxy, which follows the
# Swarm's tasks) talks to the Docker Engine through /var/run/docker.sock, which is root's;
# whoever can use that socket is root on the node anyway. See docs/images.md.

# BUILD_CA_CERTS (optional, PEM text) adds CA certificates that npm trusts while it fetches
# packages in the build and deps stages, for networks that intercept TLS; it never reaches the
# runtime images. scripts/build-images.sh passes the host's extra CAs (see docs/images.md).

ARG BASE_IMAGE=node:26-bookworm-slim

# ---- build: compile TypeScript to dist/ ----------------------------------------------------
FROM ${BASE_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer is reused until package.json or the lockfile changes.
# --ignore-scripts: the only install scripts in the tree try to compile optional native
# add-ons of ssh2 (cpu-features, a crypto binding) that need Python and a C++ compiler the
# base lacks; ssh2 (used only for ssh:// DOCKER_HOSTs) falls back to pure JavaScript.
COPY package.json package-lock.json ./
ARG BUILD_CA_CERTS=""
RUN if [ -n "$BUILD_CA_CERTS" ]; then printf '%s\n' "$BUILD_CA_CERTS" >/tmp/build-ca.pem; \
      export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; fi \
 && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
 && rm -f /tmp/build-ca.pem
COPY tsconfig.json ./
COPY crds/ crds/
COPY scripts/generate.ts scripts/editor-schemas.ts scripts/
COPY src/ src/
RUN npm run build \
 && test -f dist/src/cli/main.js

# ---- deps: production node_modules only ----------------------------------------------------
# A stage of its own (not `npm prune` after the build) so it is cached on the lockfile alone.
# --ignore-scripts for the same reason as above: no compiled add-ons in the runtime images.
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
ARG BUILD_CA_CERTS=""
RUN if [ -n "$BUILD_CA_CERTS" ]; then printf '%s\n' "$BUILD_CA_CERTS" >/tmp/build-ca.pem; \
      export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; fi \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && rm -rf /tmp/build-ca.pem /root/.npm

# ---- proxy: the controller's code plus Debian's HAProxy ------------------------------------
# HAProxy is installed before the application files so that a code change does not re-run
# apt-get. Healthy = the agent's GET /healthz on its control port answers 200 (HAProxy runs
# and a route table, possibly the empty one, is loaded). The check is bash's /dev/tcp, not a
# node process: it starts in a millisecond and a few hundred KB where node needs tens of MB and,
# on a loaded machine, seconds (a proxy under load was replaced by Swarm when node's check timed
# out three times). The image has neither curl nor wget.
FROM ${BASE_IMAGE} AS proxy
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && /usr/sbin/haproxy -v
# A small, bounded heap: the agent holds one route table (see docs/benchmarks.md, "Proxy agent").
# One V8 worker thread and two malloc arenas: the agent is one event loop, and each further
# thread's arena and stack cost resident memory (about 5-8 MB less at 1,000 routes; decision 101).
# bench/proxy-scale.ts reads these two lines.
ENV NODE_ENV=production NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=64 --v8-pool-size=1"
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
EXPOSE 80 443 8091
HEALTHCHECK --interval=15s --timeout=10s --start-period=15s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SC_PROXY_CONTROL_PORT:-8091} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && IFS= read -r -t 8 line <&3 && [[ $line == HTTP/1.[01]' 200 '* ]]"]
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["proxy"]

# ---- controller: the default and last target ----------------------------------------------
# /app holds exactly what `node /app/dist/src/cli/main.js` loads: dist/src, the production
# node_modules, and package.json (main.js reads ../../../package.json for its version and
# package.json's "type": "module" makes the .js files ES modules).
FROM ${BASE_IMAGE} AS controller
# `controller run --source` follows git repositories by running git (https, ssh and scp-like
# URLs; `git archive | tar`): git, the CA bundle for https, ssh for ssh URLs. About 100 MB,
# most of it perl, which Debian's git depends on; build with
# --build-arg CONTROLLER_APT_PACKAGES= for an image that follows directory sources only.
# Before the application files, so a code change does not re-run apt-get.
ARG CONTROLLER_APT_PACKAGES="git ca-certificates openssh-client"
RUN if [ -n "$CONTROLLER_APT_PACKAGES" ]; then \
      apt-get update \
   && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $CONTROLLER_APT_PACKAGES \
   && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log; \
    fi
ENV NODE_ENV=production
# A small, bounded heap keeps `controller run` under 100 MB resident with 500 services
# (bench/run-loop.ts; docs/benchmarks.md). Raise --max-old-space-size for much larger sets.
ENV NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=96"
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
EXPOSE 8090
# Exit 0 only when GET /healthz answers 200 within 4 s. Exec form with node: the image has
# neither curl nor wget. SC_HTTP_PORT is read from the container's environment at check time.
# Healthy = GET /healthz answers 200. The check is bash's /dev/tcp, as the proxy's: a node process
# per check took seconds to start under load, and the soak saw Swarm replace a working
# controller whose checks timed out (docs/reliability.md, "Soak").
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SC_HTTP_PORT:-8090} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && IFS= read -r -t 4 line <&3 && [[ $line == HTTP/1.[01]' 200 '* ]]"]
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["run"]
