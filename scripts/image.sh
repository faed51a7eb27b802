#!/usr/bin/env bash
# Builds compensatord's container image from the Dockerfile with Debian's buildah: no Docker
# engine, no registry. The Dockerfile's base, debian:bookworm-slim, is made here from Debian's
# packages (debootstrap --variant=minbase bookworm) and stored under that name, so FROM resolves
# without a pull. Idempotent: reuses the base image when present, and the compensatord image
# when it was built from the same sources (see source_digest). Prints the image name last.
# Run as root.
#   IMAGE          the image to build (default: localhost/compensatord:<project version>)
#   DEBIAN_MIRROR  where debootstrap and apt fetch packages (default: http://deb.debian.org/debian)
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

version=$(sed -n 's/^project(compensatord VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
image=${IMAGE:-localhost/compensatord:$version}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly base=docker.io/library/debian:bookworm-slim
readonly source_label=io.compensatord.source-sha256
# No daemon, no user namespaces: chroot isolation and the vfs driver work on any root shell.
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot

rootfs_dir=""
trap '[[ -z "$rootfs_dir" ]] || rm -rf -- "$rootfs_dir"' EXIT

log() { echo "image: $*" >&2; }
die() {
  log "$*"
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "run as root (buildah without user namespaces)"
if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  CHART_TOOLS=OFF bash scripts/install-deps.sh >&2
fi

image_exists() {
  buildah inspect --type image "$1" >/dev/null 2>&1
}

# The root filesystem of a minimal bookworm, configured like the official slim image: the
# updates and security suites, no documentation, no apt caches.
bootstrap_rootfs() {
  local rootfs=$1
  log "debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    die "debootstrap failed: $(tail -n 5 "$rootfs.log")"
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/excludes" <<'EXCLUDES'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EXCLUDES
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/log/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
}

# Commits a root filesystem directory as an image, ownership and modes intact.
import_rootfs() {
  local rootfs=$1 name=$2 container mount
  container=$(buildah from scratch)
  mount=$(buildah mount "$container")
  tar -C "$rootfs" -cf - . | tar -C "$mount" -xpf - --numeric-owner
  buildah umount "$container" >/dev/null
  buildah config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --label "org.opencontainers.image.description=debootstrap --variant=minbase bookworm ($mirror)" "$container"
  buildah commit --rm --quiet "$container" "$name" >/dev/null
}

ensure_base() {
  if image_exists "$base"; then
    log "base image $base present"
    return 0
  fi
  rootfs_dir=$(mktemp -d)
  bootstrap_rootfs "$rootfs_dir/rootfs"
  import_rootfs "$rootfs_dir/rootfs" "$base"
  rm -rf -- "$rootfs_dir"
  log "base image $base imported"
}

# A digest of what the image is built from: every file git does not ignore, as it is on disk,
# except those that cannot change the image (tests and documentation; the build stage builds
# with TESTS=OFF and runs only install-deps.sh and build.sh of scripts/).
source_digest() {
  {
    git ls-files -z --cached --others --exclude-standard -- . ':!tests/' ':!docs/' ':!*.md' ':!charts/' ':!scripts/'
    git ls-files -z -- scripts/install-deps.sh scripts/build.sh
  } |
    while IFS= read -r -d '' file; do [[ -f "$file" ]] && printf '%s\0' "$file"; done |
    sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

build_image() {
  local digest previous
  digest=$(source_digest)
  if image_exists "$image" &&
    [[ "$(buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$source_label\"}}" "$image")" == "$digest" ]]; then
    log "$image is up to date (sources $digest)"
    return 0
  fi
  previous=$(buildah inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)
  log "building $image (sources $digest)"
  buildah build --pull=never --layers=false --label "$source_label=$digest" -t "$image" -f Dockerfile . >&2
  # The image this one replaces would otherwise stay behind untagged (vfs: a full copy).
  if [[ -n "$previous" ]]; then
    buildah rmi "$previous" >/dev/null 2>&1 || true
  fi
}

ensure_base
build_image
log "$image: $(buildah images --format '{{.Size}}' "$image" | head -n 1)"
echo "$image"
