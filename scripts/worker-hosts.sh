#!/usr/bin/env bash
# Extra Docker engines on this machine, one per simulated worker "host" (tests/integration/multi-host.test.ts).
# Each engine has its own socket, data root, exec root, pidfile, config file and cgroup parent, so it
# shares no state with the machine's own dockerd or with the others; the runner image is copied into
# each (docker save | docker load) and must come out with the same image id (the digest a grading pins).
#
#   worker-hosts.sh start DIR N IMAGE   start N engines under DIR/host-1..N; prints "host-i <DOCKER_HOST> <image id>" per engine
#   worker-hosts.sh kill DIR I          the machine dies: SIGKILL engine I, its containerd, shims and every container process
#   worker-hosts.sh stop DIR            stop every engine under DIR (killed ones too), unmount what they left, remove DIR
set -euo pipefail
say() { echo "[worker-hosts] $*" >&2; }

host_dir() { echo "$1/host-$2"; }
sock() { echo "unix://$(host_dir "$1" "$2")/docker.sock"; }
cgroup_parent() { echo "grader-host-$(basename "$1")-$2"; }

start_one() {
  local dir=$1 i=$2 h
  h=$(host_dir "$dir" "$i")
  mkdir -p "$h/data" "$h/exec"
  # Its own config file: the machine's /etc/docker/daemon.json is not read; runsc as lib.sh registers it.
  printf '{"runtimes":{"runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--network=none"]}}}\n' >"$h/daemon.json"
  (setsid dockerd --host "$(sock "$dir" "$i")" --data-root "$h/data" --exec-root "$h/exec" --pidfile "$h/docker.pid" \
    --config-file "$h/daemon.json" --cgroup-parent "$(cgroup_parent "$dir" "$i")" --iptables=false --bridge=none \
    >"$h/dockerd.log" 2>&1 &)
}

wait_up() {
  local dir=$1 i=$2
  for _ in $(seq 1 120); do docker -H "$(sock "$dir" "$i")" info >/dev/null 2>&1 && return; sleep 0.5; done
  say "engine $i did not come up"
  tail -20 "$(host_dir "$dir" "$i")/dockerd.log" >&2
  return 1
}

cmd_start() {
  local dir=$1 n=$2 image=$3 want i
  want=$(docker image inspect --format '{{.Id}}' "$image")
  mkdir -p "$dir"
  # The engines' disks are one tmpfs (about 1 GB of image each): loading and removing them costs
  # minutes on this machine's shared disk, seconds in memory.
  mountpoint -q "$dir" || mount -t tmpfs -o "size=$((n * 2 + 1))g,mode=0711" grader-hosts "$dir"
  for i in $(seq 1 "$n"); do start_one "$dir" "$i"; done
  for i in $(seq 1 "$n"); do wait_up "$dir" "$i"; done
  # One save, read by every engine's load side by side (tee), as a registry pull would be per host.
  local loads=()
  for i in $(seq 1 "$n"); do loads+=(">(docker -H $(sock "$dir" "$i") load -q >/dev/null)"); done
  eval "docker save $image | tee ${loads[*]} >/dev/null"
  for i in $(seq 1 "$n"); do
    local got=''
    # The loads finish asynchronously after tee returns: wait for the image to appear.
    for _ in $(seq 1 240); do
      got=$(docker -H "$(sock "$dir" "$i")" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
      [ -n "$got" ] && break
      sleep 0.5
    done
    [ "$got" = "$want" ] || { say "engine $i has $image as '${got}', not $want"; return 1; }
    echo "host-$i $(sock "$dir" "$i") $got"
  done
}

# Every process whose cgroup is under this engine's parent (the containers), in any v1 hierarchy or v2.
container_pids() {
  local parent=$1 f
  for f in /sys/fs/cgroup/pids/"$parent" /sys/fs/cgroup/memory/"$parent" /sys/fs/cgroup/"$parent"; do
    if [ -d "$f" ]; then find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
  done | sort -u
}

kill_one() {
  local dir=$1 i=$2 h pid shims
  h=$(host_dir "$dir" "$i")
  pid=$(cat "$h/docker.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  # The engine's containerd and shims are found by the socket they were given, under its exec root.
  shims=$(pgrep -f -- "$h/exec/containerd/containerd" || true)
  [ -n "$shims" ] && kill -KILL $shims 2>/dev/null || true
  local pids
  pids=$(container_pids "$(cgroup_parent "$dir" "$i")")
  [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
  return 0
}

stop_one() {
  local dir=$1 i=$2 h pid
  h=$(host_dir "$dir" "$i")
  pid=$(cat "$h/docker.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # Containers first (a grading may still run there), then the engine, gracefully for 20 s.
    local ids
    ids=$(docker -H "$(sock "$dir" "$i")" ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && docker -H "$(sock "$dir" "$i")" rm -f $ids >/dev/null 2>&1 || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  kill_one "$dir" "$i"
}

cmd_stop() {
  local dir=$1 h i
  [ -d "$dir" ] || return 0
  for h in "$dir"/host-*; do
    [ -d "$h" ] || continue
    i=${h##*/host-}
    stop_one "$dir" "$i"
    for cg in /sys/fs/cgroup/*/"$(cgroup_parent "$dir" "$i")" /sys/fs/cgroup/"$(cgroup_parent "$dir" "$i")"; do
      [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  done
  # A killed engine leaves its mounts (overlay layers, shm, netns): unmount deepest first.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if mountpoint -q "$dir"; then umount -l "$dir"; fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) cmd_start "$2" "$3" "$4" ;;
  kill) kill_one "$2" "$3" ;;
  stop) cmd_stop "$2" ;;
  *)
    echo "usage: $0 start DIR N IMAGE | kill DIR I | stop DIR" >&2
    exit 2
    ;;
esac
