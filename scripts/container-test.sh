#!/usr/bin/env bash
# Builds Baton's container image with podman (no Docker engine, no container registry) and proves it:
# a read-only root filesystem, a non-root user, configuration mounted, secrets from the environment,
# the health check, discovery and a client_credentials token from outside the container.
#
# Idempotent and bounded in time; removes what it started (the container, the temporary rootfs).
# The base image (localhost/debian-node:test) and podman's layer cache are kept for the next run;
# BATON_CONTAINER_FRESH=1 removes them (and dangling build-stage images) first. Needs root, podman,
# buildah, runc and debootstrap (`apt-get install -y podman buildah runc debootstrap`). The first run
# takes 6-9 minutes (8 on 2 busy CPUs) and about 1.2 GB; a run with the images cached, about 25 s.
#
# Exit status: 0 proven; 1 the build or the run failed; 3 a prerequisite of this machine is missing
# (not root, a tool, disk space, no network to the Debian mirror or the npm registry), with a line
# `SKIP: <why>`. `--preflight` checks only the prerequisites.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${BATON_CONTAINER_WORK:-/tmp/baton-container}
BASE_IMAGE=localhost/debian-node:test
IMAGE=localhost/baton:test
SUITE=bookworm

# Disk the first run needs: the debootstrap tree, the base image, the build stage and the image.
NEED_GB=${BATON_CONTAINER_NEED_GB:-4}

say() { printf '[container-test %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
skip() { say "SKIP: $*"; printf 'SKIP: %s\n' "$*"; exit 3; }

# The apt mirror this machine already uses (debootstrap and the build stage's apt-get both need it).
mirror=$(grep -rhoE '^URIs: *http[^ ]*/debian/?$|^deb +http[^ ]*/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
  | grep -oE 'http[^ ]*/debian/?' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}

# Free GB on the filesystem holding $1 (or its nearest existing parent).
free_gb() {
  local dir=$1
  while [ ! -e "$dir" ]; do dir=$(dirname "$dir"); done
  df -Pk "$dir" | awk 'NR == 2 { printf "%d", $4 / 1048576 }'
}

preflight() {
  [ "$(id -u)" = 0 ] || skip "not root (uid $(id -u)): debootstrap and rootful podman need root"
  local missing=()
  for tool in podman buildah runc debootstrap curl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || skip "not installed: ${missing[*]} (apt-get install -y podman buildah runc debootstrap curl)"
  local store dir free
  store=$(podman info --format '{{.Store.GraphRoot}}' 2>/dev/null) || store=""
  store=${store:-/var/lib/containers/storage}
  for dir in "$store" "$WORK"; do
    free=$(free_gb "$dir")
    [ "$free" -ge "$NEED_GB" ] || skip "not enough disk: ${free} GB free for $dir, the first run needs ${NEED_GB} GB"
  done
  curl -fsS --max-time 20 -o /dev/null "$mirror/dists/$SUITE/Release" 2>/dev/null \
    || skip "no network to the Debian mirror: $mirror/dists/$SUITE/Release cannot be fetched (curl exit $?)"
  local registry
  registry=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
  timeout 60 npm ping >/dev/null 2>&1 || skip "no network to the npm registry: npm ping to $registry failed (the build stage runs npm ci)"
  say "prerequisites met: root, tools, disk, $mirror, $registry"
}

preflight
[ "${1:-}" = --preflight ] && exit 0
mkdir -p "$WORK"

# crun (podman's default) fails here on cgroups, and the default ulimits cannot be raised in this
# sandbox: runc with limits it may set.
export CONTAINERS_CONF="$WORK/containers.conf"
cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]

[engine]
runtime = "runc"
EOF

if [ "${BATON_CONTAINER_FRESH:-0}" = 1 ]; then
  say "removing the images of earlier runs"
  podman rmi -f "$IMAGE" "$BASE_IMAGE" >/dev/null 2>&1 || true
  podman image prune -f >/dev/null 2>&1 || true
fi

# The base image, built without any registry: a minimal Debian from the apt mirror this machine
# already uses, plus this machine's Node.js (installed under /usr/local, as in the official node
# images, so the Dockerfile's npm_config_nodedir fits both), its CA bundle and global npmrc.
if ! podman image exists "$BASE_IMAGE"; then
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs"
  trap 'rm -rf "$rootfs"' EXIT
  say "debootstrap $SUITE from $mirror"
  timeout 900 debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap (log: $WORK/debootstrap.log)"; }

  node_bin=$(readlink -f "$(command -v node)")
  node_prefix=$(dirname "$(dirname "$node_bin")")
  global_modules=$(npm root -g)
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/include" "$rootfs/usr/local/etc" "$rootfs/etc/ssl/certs"
  cp "$node_bin" "$rootfs/usr/local/bin/node"
  cp -a "$global_modules/npm" "$global_modules/corepack" "$rootfs/usr/local/lib/node_modules/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  ln -sf ../lib/node_modules/corepack/dist/corepack.js "$rootfs/usr/local/bin/corepack"
  cp -a "$node_prefix/include/node" "$rootfs/usr/local/include/node"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  # The host's nodedir (if any) points at the host's layout; the Dockerfile sets its own.
  npmrc=$(npm config get globalconfig)
  if [ -f "$npmrc" ]; then grep -v '^nodedir' "$npmrc" >"$rootfs/usr/local/etc/npmrc" || true; fi
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  say "importing $BASE_IMAGE"
  tar -C "$rootfs" -c . | podman import --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
else
  say "base image $BASE_IMAGE exists"
fi

# --format docker keeps the HEALTHCHECK (the OCI image format has no field for it).
say "building $IMAGE (better-sqlite3 compiles: a few minutes)"
timeout 1500 podman build --format docker --build-arg BASE="$BASE_IMAGE" -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log" >&2; fail "podman build (log: $WORK/build.log)"; }

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
issuer="http://localhost:$port"
conf="$WORK/etc"
rm -rf "$conf" && mkdir -p "$conf"
# The configuration is mounted read-only; the secrets it names come from the environment.
cat >"$conf/baton.yaml" <<'EOF'
issuer: ${BATON_ISSUER}
keys:
  masterSecret: ${BATON_MASTER_SECRET}
storage:
  type: sqlite
  path: /var/lib/baton/baton.db
resources:
  - id: https://orders.api.localhost
    scopes: [orders:read]
clients:
  - client_id: orders-sync
    client_secret: ${ORDERS_SYNC_SECRET}
    grant_types: [client_credentials]
    resources:
      - id: https://orders.api.localhost
        scopes: [orders:read]
EOF
chmod 644 "$conf/baton.yaml"
master_secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
client_secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')

cid=""
volume="baton-test-data-$$"
cleanup() {
  if [ -n "$cid" ]; then
    podman stop --time 10 "$cid" >/dev/null 2>&1 || true
    podman rm -f "$cid" >/dev/null 2>&1 || true
  fi
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# --read-only-tmpfs=false: not even /tmp is writable, as under Kubernetes' readOnlyRootFilesystem;
# the data directory, a named volume (it takes the image's ownership of /var/lib/baton: uid 1000), is
# the only writable place. Podman schedules the periodic health check with systemd timers; there is no
# systemd here, so it logs "unable to get systemd connection" (harmless) and the check runs once below.
say "starting $IMAGE on 127.0.0.1:$port"
cid=$(podman run -d --read-only --read-only-tmpfs=false \
  -v "$volume:/var/lib/baton" \
  -v "$conf/baton.yaml:/etc/baton/baton.yaml:ro" \
  -e BATON_ISSUER="$issuer" -e BATON_MASTER_SECRET="$master_secret" -e ORDERS_SYNC_SECRET="$client_secret" \
  -p "127.0.0.1:$port:4000" "$IMAGE")

ready=""
for _ in $(seq 1 90); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ready=1; break; fi
  [ "$(podman inspect -f '{{.State.Running}}' "$cid")" = true ] || break
  sleep 1
done
if [ -z "$ready" ]; then podman logs "$cid" >&2 || true; fail "Baton did not answer /healthz within 90 s"; fi

user=$(podman exec "$cid" id -u)
[ "$user" != 0 ] || fail "the container runs as root"
podman exec "$cid" sh -c 'touch /app/x 2>/dev/null || touch /tmp/x 2>/dev/null' && fail "the root filesystem is writable"
[ "$(podman inspect -f '{{.Config.Healthcheck.Test}}' "$cid")" != "[]" ] || fail "the image has no HEALTHCHECK"
podman healthcheck run "$cid" >/dev/null || fail "the image's HEALTHCHECK failed"

discovery=$(curl -fsS "http://127.0.0.1:$port/.well-known/openid-configuration")
echo "$discovery" | grep -q "\"issuer\":\"$issuer\"" || fail "discovery does not name $issuer: $discovery"
token=$(curl -fsS -u "orders-sync:$client_secret" -d grant_type=client_credentials \
  -d resource=https://orders.api.localhost -d scope=orders:read "http://127.0.0.1:$port/token") \
  || { podman logs "$cid" >&2 || true; fail "the token request failed"; }
echo "$token" | grep -q '"access_token":"ey' || fail "no JWT access token in: $(echo "$token" | sed 's/"access_token":"[^"]*"/"access_token":"…"/')"
podman exec "$cid" test -s /var/lib/baton/baton.db || fail "no SQLite database in the data directory"
# The compiled build, as installed from npm: no sources in the image, and no TypeScript loader
# registered without a TypeScript hook module (tsx's CommonJS loader is what adds .tsx).
podman exec "$cid" test ! -e /app/src || fail "the image still holds src/: it would run the sources under tsx"
podman exec "$cid" test -f /app/dist/main.js || fail "the image has no dist/main.js"

say "stopping $cid"
podman stop --time 15 "$cid" >/dev/null
code=$(podman inspect -f '{{.State.ExitCode}}' "$cid")
podman rm "$cid" >/dev/null && cid=""
[ "$code" = 0 ] || fail "Baton exited $code on SIGTERM"
say "OK: non-root (uid $user), read-only root, compiled build, healthy, discovery and a client_credentials token from $IMAGE"
