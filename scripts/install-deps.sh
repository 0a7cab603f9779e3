#!/usr/bin/env bash
# Installs the Debian packages AgentCube builds, runs and tests with, when any is missing.
# Idempotent; uses sudo when not root.
set -euo pipefail

packages=(
  libprotobuf-c-dev protobuf-c-compiler   # message codec and its generator (freshness check)
  libcurl4-openssl-dev libssl-dev         # Kubernetes REST shim, hashing
  openssh-server openssh-client openssh-sftp-server  # the default sandbox image and e2e tests
  runc golang-github-containers-common    # local sandboxes: the OCI runtime and its seccomp profile
  e2fsprogs util-linux                    # workspace filesystems (mkfs.ext4); nsenter in tests
  socat                                   # benchmarks' relay baseline
  slirp4netns                             # --sandbox-network egress
  protobuf-compiler                       # clients/python's _pb2 modules (freshness check)
  python3 python3-venv                    # the Python client's suite (a venv under .build)
  cmake pkg-config valgrind               # the C client: build, tests under valgrind
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
