# Shared by scripts/run.sh and scripts/test.sh: installs what is missing and starts the backing
# services project-locally (own data dirs and ports under .data/), unless DATABASE_URL, REDIS_URL
# or DOCKER_HOST point at existing ones. Every step is idempotent and cheap when already done.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/.data"
mkdir -p "$DATA"
say() { echo "[setup] $*" >&2; }

PG_PORT=${GRADER_PG_PORT:-55432}
REDIS_PORT=${GRADER_REDIS_PORT:-56379}

need_pkgs() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  [ -x /usr/bin/runsc ] || missing+=(runsc)
  [ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v chromium >/dev/null || missing+=(chromium)
  /usr/bin/python3 -c 'import sklearn, pandas, imblearn, xgboost' 2>/dev/null || missing+=(python3-sklearn python3-pandas python3-imblearn python3-xgboost)
  /usr/bin/python3 -c 'import pytest' 2>/dev/null || missing+=(python3-pytest)
  # node-gyp builds Dolos's tree-sitter parsers (@dodona/dolos-parsers) at npm install.
  { command -v g++ && command -v make; } >/dev/null || missing+=(g++ make)
  /usr/bin/python3 -c 'import nbformat' 2>/dev/null || missing+=(python3-nbformat)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
  fi
}

# gVisor's runsc is registered through daemon.json, never --add-runtime: dockerd refuses to start
# when a runtime is named in both, and daemon.json serves both a dockerd we start and one already
# running (SIGHUP reloads `runtimes`). Merges into an existing file; writes only when it differs.
# --network=none: sandboxes never have a network, and Debian's runsc (2022) takes any network
# namespace for the host's on newer kernels (6.18 here: its probe file became per-namespace), so copying
# interfaces from Docker's namespace fails every start. The default ptrace platform: kvm hangs here.
RUNSC_RUNTIME='{"path":"/usr/bin/runsc","runtimeArgs":["--network=none"]}'
runsc_in_daemon_json() {
  mkdir -p /etc/docker
  RUNSC_RUNTIME=$RUNSC_RUNTIME node -e '
    const fs = require("fs"), f = "/etc/docker/daemon.json", want = process.env.RUNSC_RUNTIME;
    const conf = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8") || "{}") : {};
    if (JSON.stringify(conf.runtimes?.runsc) === want) process.exit(0);
    conf.runtimes = { ...conf.runtimes, runsc: JSON.parse(want) };
    fs.writeFileSync(f + ".tmp", JSON.stringify(conf, null, 2) + "\n");
    fs.renameSync(f + ".tmp", f);
  '
}

engine_has_runsc() { docker info --format '{{json .Runtimes.runsc}}' 2>/dev/null | grep -qF '"runtimeArgs":["--network=none"]'; }

start_docker() {
  if [ -n "${DOCKER_HOST:-}" ]; then
    docker info >/dev/null || { say "DOCKER_HOST=$DOCKER_HOST does not answer"; exit 1; }
    engine_has_runsc || say "the engine at DOCKER_HOST has no runsc runtime: SANDBOX_RUNTIME=runsc will fail there"
    return
  fi
  if docker info >/dev/null 2>&1; then
    engine_has_runsc && return
    runsc_in_daemon_json
    say "registering runsc with the running dockerd (SIGHUP)"
    kill -HUP $(pidof dockerd)
    for _ in $(seq 1 40); do engine_has_runsc && return; sleep 0.25; done
    say "dockerd did not pick up runsc from /etc/docker/daemon.json"; exit 1
  fi
  runsc_in_daemon_json
  say "starting dockerd"
  (setsid dockerd --iptables=false --bridge=none >"$DATA/dockerd.log" 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return; sleep 0.5; done
  say "dockerd did not come up; see $DATA/dockerd.log"; tail -20 "$DATA/dockerd.log" >&2; exit 1
}

start_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then return; fi
  local bin=/usr/lib/postgresql/15/bin dir="$DATA/pg"
  if [ ! -f "$dir/PG_VERSION" ] && ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; then
    say "initialising postgres in $dir"
    mkdir -p "$dir" && chown postgres:postgres "$dir" && chmod 700 "$dir"
    runuser -u postgres -- "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null
  fi
  if pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; then
    say "reusing the postgres already answering on 127.0.0.1:$PG_PORT"
  elif ! runuser -u postgres -- "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    say "starting postgres on 127.0.0.1:$PG_PORT"
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" start >/dev/null
  fi
  local psql=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAq)
  "${psql[@]}" -c "select 1 from pg_roles where rolname='grader'" | grep -q 1 || "${psql[@]}" -c "create role grader login superuser"
  for db in grader grader_test; do
    "${psql[@]}" -c "select 1 from pg_database where datname='$db'" | grep -q 1 || "${psql[@]}" -c "create database $db owner grader"
  done
  export DATABASE_URL="postgres://grader@127.0.0.1:$PG_PORT/grader"
}

start_redis() {
  if [ -n "${REDIS_URL:-}" ]; then return; fi
  mkdir -p "$DATA/redis"
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    say "starting redis on 127.0.0.1:$REDIS_PORT (AOF, noeviction)"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$DATA/redis" \
      --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --save '' \
      --logfile "$DATA/redis/redis.log" --pidfile "$DATA/redis/redis.pid"
    for _ in $(seq 1 40); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.25; done
  fi
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
}

npm_deps() {
  local stamp="$ROOT/node_modules/.install-stamp" want
  want=$(sha256sum "$ROOT/package-lock.json" | cut -c1-64)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "npm install (from package-lock.json)"
    # npm ci trips over optional platform packages missing from the lock (npm 11); install honours the lock.
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >&2)
    sha256sum "$ROOT/package-lock.json" | cut -c1-64 >"$stamp"
  fi
}

runner_image() {
  export RUNNER_IMAGE
  RUNNER_IMAGE=$(bash "$ROOT/scripts/build-runner-image.sh")
}

setup_all() {
  need_pkgs
  start_docker
  start_postgres
  start_redis
  npm_deps
  runner_image
}
