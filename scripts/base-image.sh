#!/usr/bin/env bash
# Makes the Dockerfile's base image, docker.io/library/debian:trixie-slim, in the local container
# store (podman) from Debian packages, for machines that cannot reach a container registry. Tagged
# with the official name, so the same Dockerfile builds here (podman build --pull=never) and
# anywhere else (pulled as usual). Does nothing when the store already has the image.
# Needs root, podman and debootstrap (scripts/install.sh installs both). About a minute.
# The packages come from the Debian mirror apt already uses here; DEBIAN_MIRROR overrides it.
set -euo pipefail

image=docker.io/library/debian:trixie-slim
suite=trixie

if podman image exists "$image"; then exit 0; fi

# The first non-security URI of apt's own sources (deb822 files first, then sources.list).
apt_mirror() {
  { sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null
    sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\).*/\2/p' /etc/apt/sources.list 2>/dev/null
  } | grep -v security | head -n1 || true
}
mirror=${DEBIAN_MIRROR:-$(apt_mirror)}
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
echo "base-image: debootstrap $suite from $mirror"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 20 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"

# Slim like the official image: no documentation, manual pages or translations (now or from
# later installs), no package lists or caches: 81 MB instead of a minbase root's 214 MB.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info,locale,lintian}/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*

tar -C "$rootfs" -c . | podman import --quiet - "$image" >/dev/null
echo "base-image: $image"
