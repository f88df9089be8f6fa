#!/usr/bin/env bash
# Installs what nxc's demo and test suite need on a fresh machine, then makes sure a Docker
# engine is running. Idempotent. On Debian/Ubuntu as root it installs missing packages
# itself; elsewhere it prints exactly what to install and stops.
#
#   scripts/setup.sh            system packages + pnpm + workspace install + build
#   scripts/setup.sh --no-build skip `pnpm install` / build (used by scripts that do it later)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(docker.io nix-bin qemu-system-x86 busybox-static jq tmux python3 openssh-client
  dropbear-bin openssh-sftp-server cpio xz-utils iproute2 ca-certificates e2fsprogs dash util-linux)
# commands that prove each package is there (same order)
APT_PROBES=(dockerd nix qemu-system-x86_64 busybox jq tmux python3 ssh-keygen
  dropbear /usr/lib/openssh/sftp-server cpio xz ip update-ca-certificates mkfs.ext4 dash flock)

missing=()
for i in "${!APT_PACKAGES[@]}"; do
  command -v "${APT_PROBES[$i]}" >/dev/null 2>&1 || [ -x "/usr/sbin/${APT_PROBES[$i]}" ] || missing+=("${APT_PACKAGES[$i]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}), then run this again" >&2
    exit 3
  fi
fi

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js >= 20.5 is required (https://nodejs.org or apt-get install nodejs)" >&2
  exit 3
fi
if ! command -v pnpm >/dev/null 2>&1; then
  echo "setup: installing pnpm"
  npm install -g pnpm@10 >/dev/null 2>&1 || { echo "setup: could not install pnpm: run npm install -g pnpm@10" >&2; exit 3; }
fi

# Nix: Debian's nix-bin, run as root, builds as the users of the `build-users-group`
# (default `nixbld`, sandbox on) and nothing creates that group: every build fails until it
# exists. Create it and its build users the way Nix's own installer does.
if [ "$(id -u)" = 0 ] && command -v nix >/dev/null 2>&1; then
  group=$(nix --extra-experimental-features nix-command show-config 2>/dev/null | sed -n 's/^build-users-group = //p')
  group=${group:-nixbld}
  if [ -n "$group" ] && ! getent group "$group" >/dev/null; then
    groupadd -r "$group"
    echo "setup: created the Nix build users group $group"
  fi
  if [ -n "$group" ]; then
    made=0
    for n in $(seq 1 8); do
      if ! id "${group}$n" >/dev/null 2>&1; then
        useradd -r -g "$group" -G "$group" -d /var/empty -s /usr/sbin/nologin -c "Nix build user $n" "${group}$n"
        made=$((made + 1))
      fi
    done
    [ "$made" = 0 ] || echo "setup: created $made Nix build users (${group}1..${group}8)"
  fi
fi

# apt-get download (test OS) needs package lists even when nothing had to be installed.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! ls /var/lib/apt/lists/*Packages* >/dev/null 2>&1; then
  apt-get update -qq
fi

# Docker engine: start one if none answers (CI machines have none running).
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: starting dockerd"
    mkdir -p /tmp/nxc-ci
    # the daemon outlives this script: it must not inherit its open files (a lock held by
    # whoever called setup, e.g. `flock LOCK scripts/setup.sh`, would then be held forever)
    (
      for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] && eval "exec $fd>&-"
      done
      exec setsid nohup dockerd </dev/null >/tmp/nxc-ci/dockerd.log 2>&1
    ) &
    echo $! >/tmp/nxc-ci/dockerd.pid
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start, see /tmp/nxc-ci/dockerd.log" >&2; tail -5 /tmp/nxc-ci/dockerd.log >&2; exit 3; }
  else
    echo "setup: no Docker engine answers; start it (sudo systemctl start docker) and make sure you may use it" >&2
    exit 3
  fi
fi

# Offline test OS used by the demo and the tests (Debian binaries fetched with apt-get download).
if [ -x test/fixtures/testos/setup.sh ]; then
  test/fixtures/testos/setup.sh
fi

if [ "${1:-}" != "--no-build" ]; then
  export TURBO_TELEMETRY_DISABLED=1
  pnpm install --frozen-lockfile --reporter=append-only >/dev/null
  pnpm turbo run build --output-logs=errors-only
fi
echo "setup: ready"
