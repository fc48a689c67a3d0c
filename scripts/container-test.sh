#!/usr/bin/env bash
# Container test: builds the image from the Dockerfile with Debian's podman,
# runs it like production and checks it. Called by .ci/run.
#
#   bash scripts/container-test.sh
#
# The CI machine has no Docker engine and no container registry, so:
#   - podman, runc and debootstrap are installed from Debian when missing
#     (needs root and apt-get; otherwise the test is skipped with a SKIP line);
#   - ci/containers.conf (selected with CONTAINERS_CONF) picks runc and sets
#     rlimits the machine allows;
#   - the base image is built locally (scripts/make-base-image.sh) and passed
#     as BASE_IMAGE, with --pull=never; --format docker keeps the HEALTHCHECK.
#
# Checks (each prints PASS or FAIL; the exit code is non-zero on any FAIL):
#   image builds; image holds no dev dependency; production refuses to start
#   without credentials; the image holds no emulator code and a start without
#   credentials outside production cannot reach one; /healthz answers 200 through the published port;
#   `podman healthcheck run` is healthy; the process is not root and node is
#   PID 1; `podman stop -t 10` ends it by SIGTERM with exit code 0.
#
# Environment: CONTAINER_TEST_REQUIRED=1 turns a skip into a failure;
# CONTAINER_TEST_NO_CACHE=1 builds without the layer cache; KEEP_IMAGE=0
# removes the built image at the end.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD

IMAGE=localhost/stytch-bff:ci
BASE=${BASE_IMAGE_TAG:-localhost/node:22-local}
NAME=stytch-bff-ci-$$
STOP_TIMEOUT=10
HEALTH_WAIT=60

passed=0
failed=0
pass() { printf 'PASS container: %s\n' "$*"; passed=$((passed + 1)); }
fail() { printf 'FAIL container: %s\n' "$*"; failed=$((failed + 1)); }
info() { printf '     container: %s\n' "$*"; }
finish() {
  if [ "$failed" -eq 0 ]; then
    printf 'container-test: all %d checks passed\n' "$passed"
    exit 0
  fi
  printf 'container-test: %d of %d checks FAILED\n' "$failed" "$((passed + failed))"
  exit 1
}
skip() {
  if [ "${CONTAINER_TEST_REQUIRED:-0}" = 1 ]; then
    fail "cannot run: $*"
    finish
  fi
  printf 'SKIP container test: %s\n' "$*"
  exit 0
}

# --- tools ----------------------------------------------------------------------
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || skip "needs ${need[*]}, and installing them needs root"
  command -v apt-get >/dev/null || skip "needs ${need[*]}, and there is no apt-get"
  info "installing ${need[*]} from Debian"
  t=$(date +%s)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >"${TMPDIR:-/tmp}/container-test-apt.log" 2>&1; then
    tail -n 20 "${TMPDIR:-/tmp}/container-test-apt.log"
    fail "apt-get install ${need[*]}"
    finish
  fi
  info "installed in $(( $(date +%s) - t )) s"
fi
[ "$(id -u)" = 0 ] || skip "rootful podman needs root"
command -v curl >/dev/null || { fail "curl is missing on the host"; finish; }

export CONTAINERS_CONF=$REPO/ci/containers.conf
WORK=$(mktemp -d "${TMPDIR:-/tmp}/container-test.XXXXXX")

cleanup() {
  podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
  if [ "${KEEP_IMAGE:-1}" = 0 ]; then podman rmi -f "$IMAGE" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# rlimits: by default podman asks for more than a machine without
# CAP_SYS_RESOURCE grants, so ask for no more than this shell's hard limits
# (podman itself lowers its own nproc to 32768, hence the small nproc).
# These flags win over default_ulimits in containers.conf.
nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ] && nofile=1048576
[ "$nproc" = unlimited ] || [ "$nproc" -gt 4096 ] && nproc=4096
ULIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

# --- base image -----------------------------------------------------------------
t=$(date +%s)
if ! bash scripts/make-base-image.sh; then
  fail "base image $BASE"
  finish
fi
info "base image ready in $(( $(date +%s) - t )) s"

# --- build ----------------------------------------------------------------------
old_id=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
build_args=(--pull=never --format docker --build-arg "BASE_IMAGE=$BASE" -t "$IMAGE")
[ "${CONTAINER_TEST_NO_CACHE:-0}" = 1 ] && build_args+=(--no-cache)
t0=$(date +%s.%N)
if timeout 900 podman build "${build_args[@]}" . >"$WORK/build.log" 2>&1; then
  build_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
  pass "image builds ($IMAGE in ${build_s} s, $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }'))"
  new_id=$(podman image inspect --format '{{.Id}}' "$IMAGE")
  if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then podman rmi "$old_id" >/dev/null 2>&1 || true; fi
  # Untagged stage images are the layer cache of the next build: keep a day's.
  podman image prune -f --filter until=24h >/dev/null 2>&1 || true
else
  tail -n 40 "$WORK/build.log"
  fail "image builds (podman build failed, see above)"
  finish
fi
grep -i 'HEALTHCHECK is not supported' "$WORK/build.log" && fail "HEALTHCHECK dropped by the image format"

img_user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
img_env=$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE")
img_hc=$(podman image inspect --format '{{if .Config.Healthcheck}}{{json .Config.Healthcheck.Test}}{{end}}' "$IMAGE" 2>/dev/null)
if [ -n "$img_user" ] && [ "$img_user" != root ] && [ "$img_user" != 0 ] \
   && grep -qx 'NODE_ENV=production' <<<"$img_env" && grep -q healthz <<<"$img_hc"; then
  pass "image metadata (USER $img_user, NODE_ENV=production, HEALTHCHECK on /healthz)"
else
  fail "image metadata (USER '$img_user', env: $(tr '\n' ' ' <<<"$img_env"), healthcheck: '$img_hc')"
fi

# --- no dev dependency ----------------------------------------------------------
# Every package the lockfile marks dev-only (reached only through
# devDependencies) must be absent from the image's node_modules.
node -e '
  const lock = require("./package-lock.json");
  for (const [p, e] of Object.entries(lock.packages || {}))
    if (p && e.dev && !e.link) console.log(p);
' >"$WORK/dev-only.txt"
dev_count=$(wc -l <"$WORK/dev-only.txt")
# shellcheck disable=SC2016
devcheck=$(podman run --rm -i --no-healthcheck "${ULIMITS[@]}" --entrypoint node "$IMAGE" -e '
  const fs = require("fs");
  const list = fs.readFileSync(0, "utf8").split("\n").filter(Boolean);
  const present = list.filter((p) => fs.existsSync("/app/" + p));
  const resolvable = ["typescript", "tap", "tsx"].filter((m) => {
    try { require.resolve(m, { paths: ["/app"] }); return true; } catch { return false; }
  });
  if (fs.existsSync("/app/node_modules/.bin/tsc")) resolvable.push(".bin/tsc");
  console.log(JSON.stringify({ present: present.slice(0, 10), presentCount: present.length, resolvable }));
' <"$WORK/dev-only.txt" 2>&1)
if [ "$dev_count" -gt 0 ] && grep -q '"presentCount":0,"resolvable":\[\]' <<<"$devcheck"; then
  pass "no dev dependency in the image (0 of $dev_count dev-only lockfile packages; typescript, tap, tsx not resolvable)"
else
  fail "no dev dependency in the image ($dev_count dev-only in the lockfile; found: $devcheck)"
fi

# --- production refuses to start without credentials ----------------------------
out=$(timeout 60 podman run --rm --no-healthcheck "${ULIMITS[@]}" "$IMAGE" 2>&1); rc=$?
if [ "$rc" -ne 0 ] && grep -q 'STYTCH_PROJECT_ID' <<<"$out"; then
  pass "without credentials the image refuses to start (exit $rc, names STYTCH_PROJECT_ID)"
else
  fail "without credentials the image refuses to start (exit $rc): $(tail -c 400 <<<"$out")"
fi

# --- no emulator in the image ---------------------------------------------------
# The Stytch emulator is its own build (npm run build:emulator); the image has the
# service build only. Markers: the emulator's directory, its unknown-route error type
# and its banner, which no service file contains.
# shellcheck disable=SC2016
emucheck=$(timeout 60 podman run --rm --no-healthcheck "${ULIMITS[@]}" --entrypoint node "$IMAGE" -e '
  const fs = require("fs"), path = require("path");
  const files = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else files.push(p) } };
  walk("/app/dist");
  const marked = files.filter((f) => /route_not_found|Stytch emulator listening/.test(fs.readFileSync(f, "utf8")));
  const dirs = files.filter((f) => f.includes("/emulator/")).slice(0, 5);
  console.log(JSON.stringify({ files: files.length, dirs, marked }));
' 2>&1)
if grep -q '"dirs":\[\],"marked":\[\]' <<<"$emucheck" && ! grep -q '"files":0' <<<"$emucheck"; then
  pass "no emulator code in the image ($(grep -o '"files":[0-9]*' <<<"$emucheck" | cut -d: -f2) files under /app/dist, none from src/emulator)"
else
  fail "no emulator code in the image: $emucheck"
fi
out=$(timeout 60 podman run --rm --no-healthcheck "${ULIMITS[@]}" -e NODE_ENV=development "$IMAGE" 2>&1); rc=$?
if [ "$rc" -ne 0 ] && grep -q 'no embedded Stytch emulator' <<<"$out"; then
  pass "outside production without credentials the image cannot start an emulator (exit $rc: $(grep -o 'required, since this build has no embedded Stytch emulator' <<<"$out"))"
else
  fail "outside production without credentials the image must refuse, having no emulator (exit $rc): $(tail -c 400 <<<"$out")"
fi

# --- run ------------------------------------------------------------------------
PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
# Run hardened as the README recommends: read-only root file system, no
# capabilities, no privilege escalation (the service writes nothing to disk).
if ! podman run -d --name "$NAME" "${ULIMITS[@]}" \
     --read-only --cap-drop=ALL --security-opt no-new-privileges \
     -p "127.0.0.1:$PORT:3000" \
     -e NODE_ENV=production \
     -e STYTCH_PROJECT_ID=project-test-00000000-0000-4000-8000-000000000000 \
     -e STYTCH_SECRET=secret-for-the-container-test-only \
     -e STYTCH_API_URL=https://127.0.0.1:9 \
     "$IMAGE" >"$WORK/run.log" 2>&1; then
  cat "$WORK/run.log"
  fail "container starts"
  finish
fi
t0=$(date +%s.%N)
code=000
for _ in $(seq 1 $((HEALTH_WAIT * 5))); do
  code=$(curl -s -o "$WORK/healthz.body" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/healthz") || code=000
  [ "$code" = 200 ] && break
  [ "$(podman inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] || break
  sleep 0.2
done
if [ "$code" = 200 ]; then
  ready_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  pass "GET /healthz through 127.0.0.1:$PORT answers 200 (${ready_s} s after start, read-only, no capabilities): $(head -c 200 "$WORK/healthz.body")"
else
  fail "GET /healthz through 127.0.0.1:$PORT answers 200 (last status $code, running: $(podman inspect --format '{{.State.Running}}' "$NAME" 2>&1))"
  podman logs "$NAME" 2>&1 | tail -n 30
  finish
fi

# --- HEALTHCHECK (no systemd timers here, so run it by hand) --------------------
hc_out=$(timeout 30 podman healthcheck run "$NAME" 2>&1); hc_rc=$?
hc_status=$(podman inspect --format '{{.State.Health.Status}}' "$NAME" 2>/dev/null \
  || podman inspect --format '{{.State.Healthcheck.Status}}' "$NAME" 2>/dev/null)
if [ "$hc_rc" -eq 0 ] && [ "$hc_status" = healthy ]; then
  pass "podman healthcheck run: healthy"
else
  fail "podman healthcheck run (exit $hc_rc, status '$hc_status'): $hc_out"
fi

# --- not root -------------------------------------------------------------------
uid=$(timeout 30 podman exec "$NAME" id -u 2>&1)
top=$(podman top "$NAME" pid user args 2>&1)
pid1=$(awk '$1 == 1 { $1 = ""; print }' <<<"$top")
if [ "$uid" != 0 ] && [ -n "$uid" ] && [[ "$uid" =~ ^[0-9]+$ ]] && grep -Eq 'node( --[a-z-]+=[0-9]+)* dist/src/server\.js' <<<"$pid1" && ! grep -qw root <<<"$pid1"; then
  pass "process is not root (uid $uid) and node is PID 1 ($(xargs <<<"$pid1"))"
else
  fail "process is not root and node is PID 1 (id -u: $uid; podman top: $(tr '\n' ';' <<<"$top"))"
fi

# --- graceful stop --------------------------------------------------------------
t0=$(date +%s.%N)
timeout $((STOP_TIMEOUT + 30)) podman stop -t "$STOP_TIMEOUT" "$NAME" >"$WORK/stop.log" 2>&1
stop_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$NAME" 2>&1)
if [ "$exit_code" = 0 ] && ! grep -q 'resorting to SIGKILL' "$WORK/stop.log"; then
  pass "podman stop -t $STOP_TIMEOUT: exit code 0 after SIGTERM (${stop_s} s)"
else
  fail "podman stop -t $STOP_TIMEOUT: exit code $exit_code after ${stop_s} s (137 = killed after the timeout) $(cat "$WORK/stop.log")"
  podman logs "$NAME" 2>&1 | tail -n 20
fi

finish
