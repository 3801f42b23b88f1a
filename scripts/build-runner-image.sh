#!/usr/bin/env bash
# Builds the Python runner image without Docker Hub or PyPI: a debootstrapped Debian 12 base from
# the packages in docker/runner/packages.txt, then the harness layered on top with `docker build`.
# Both images are tagged by a hash of their inputs, so an unchanged tree never rebuilds.
# Prints the runner image tag on stdout (everything else goes to stderr).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { echo "[runner-image] $*" >&2; }

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

base_hash=$(hash_of docker/runner/packages.txt)
base_tag="grader-runner-base:$base_hash"
runner_hash=$(cd docker/runner && find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum | { cat; echo "$base_tag"; } | sha256sum | cut -c1-16)
runner_tag="grader-runner:$runner_hash"

if docker image inspect "$runner_tag" >/dev/null 2>&1; then
  log "up to date: $runner_tag"
  docker tag "$runner_tag" grader-runner:latest
  echo "$runner_tag"; exit 0
fi

if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2; }
  mirror=${DEBIAN_MIRROR:-$(grep -hoE '^(URIs:|deb) +(\[[^]]*\] +)?https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | head -n1 | grep -oE 'https?://[^ ]+' || true)}
  mirror=${mirror:-http://deb.debian.org/debian}
  include=$(grep -vE '^\s*(#|$)' docker/runner/packages.txt | paste -sd, -)
  rootfs=$(mktemp -d /var/tmp/grader-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap bookworm from $mirror (a few minutes, once)"
  debootstrap --variant=minbase --include="$include" bookworm "$rootfs" "$mirror" >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL grader.base-inputs=$base_hash" - "$base_tag" >&2
  rm -rf "$rootfs"; trap - EXIT
fi

log "building $runner_tag"
DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "BASE_IMAGE=$base_tag" \
  --label "grader.runner-inputs=$runner_hash" -t "$runner_tag" docker/runner >&2
docker tag "$runner_tag" grader-runner:latest
echo "$runner_tag"
