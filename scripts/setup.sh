#!/usr/bin/env bash
# One-time set-up on Debian/Ubuntu, as root: OS packages, npm dependencies,
# build, and `tbox` on PATH. Safe to run again.
#   --test   also what the tests use: a local registry (docker-registry; on a
#            systemd host its package starts a service on :5000) and skopeo
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  iproute2 util-linux busybox-static iptables iputils-ping tcpdump procps attr coreutils
  gcc make g++ python3     # the shim, and better-sqlite3's native build
  libseccomp-dev           # the shim's seccomp filters
)
if [ "${1:-}" = "--test" ]; then
  PACKAGES+=(docker-registry skopeo bsdutils libxml2-utils zsh podman)   # xmllint: the diagram's SVG parses; zsh -n: completion; podman load: tbox save's archive
  PACKAGES+=(runc conmon containerd containernetworking-plugins)         # the engines that drive tbox-cni and tbox-runtime (runc: podman's runtime where crun fails on hybrid cgroups)
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (sudo bash scripts/setup.sh)" >&2
  exit 1
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup.sh: tbox needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm run build
npm link --no-audit --no-fund >/dev/null
echo "setup.sh: tbox is $(command -v tbox)"
