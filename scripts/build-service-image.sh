#!/usr/bin/env bash
# Builds the service image (API, workers, CLI) without Docker Hub or a registry, the way
# build-runner-image.sh builds the runner: a debootstrapped Debian 12 base (docker/service/packages.txt),
# then the Node binary of this machine and the repository with its installed node_modules copied in
# (run `npm ci` first; same Debian release, so native modules match). Tagged by a hash of its inputs.
# Prints the image tag on stdout (everything else goes to stderr).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { echo "[service-image] $*" >&2; }

[ -d node_modules ] || { log "node_modules missing: run npm ci first"; exit 1; }
node_bin=$(readlink -f "$(command -v node)")
base_hash=$(sha256sum docker/service/packages.txt | cut -c1-16)
base_tag="grader-service-base:$base_hash"
# The committed tree (HEAD), not the working tree: what is built is what a commit names.
sources=(services workers bin assessments migrations package.json package-lock.json tsconfig.json)
inputs=$(git rev-parse "${sources[@]/#/HEAD:}" HEAD:docker/service | sha256sum | cut -c1-16)
tag="grader-service:$(printf '%s %s %s %s' "$inputs" "$base_tag" "$(sha256sum "$node_bin" | cut -c1-16)" "$(sha256sum package-lock.json | cut -c1-16)" | sha256sum | cut -c1-16)"

if docker image inspect "$tag" >/dev/null 2>&1; then
  log "up to date: $tag"; docker tag "$tag" grader-service:latest; echo "$tag"; exit 0
fi

if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2; }
  mirror=${DEBIAN_MIRROR:-$(grep -hoE '^(URIs:|deb) +(\[[^]]*\] +)?https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | head -n1 | grep -oE 'https?://[^ ]+' || true)}
  mirror=${mirror:-http://deb.debian.org/debian}
  include=$(grep -vE '^\s*(#|$)' docker/service/packages.txt | paste -sd, -)
  rootfs=$(mktemp -d /var/tmp/grader-service-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap bookworm from $mirror (once)"
  debootstrap --variant=minbase --include="$include" bookworm "$rootfs" "$mirror" >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$base_tag" >&2
  rm -rf "$rootfs"; trap - EXIT
fi

ctx=$(mktemp -d /var/tmp/grader-service-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/app"
cp "$node_bin" "$ctx/node"
cp docker/service/Dockerfile "$ctx/"
# The sources at HEAD (no tests, no local data), then node_modules as installed here.
git archive HEAD -- "${sources[@]}" | tar -C "$ctx/app" -x
tar -c --exclude='node_modules/.cache' node_modules | tar -C "$ctx/app" -x
log "building $tag"
DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "BASE_IMAGE=$base_tag" --label "grader.service-inputs=$inputs" -t "$tag" "$ctx" >&2
docker tag "$tag" grader-service:latest
echo "$tag"
