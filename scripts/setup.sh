#!/usr/bin/env bash
# Installs what nxc's demo and test suite need on a fresh machine, makes sure Nix can build and
# a Docker engine runs. Idempotent; every change it makes is printed as one `setup:` line. On
# Debian/Ubuntu as root it installs what is missing itself; elsewhere, or as another user, it
# prints exactly what to run and exits 3.
#
#   scripts/setup.sh            system packages, Node.js, pnpm, Nix check, dockerd, workspace install + build
#   scripts/setup.sh --no-build skip `pnpm install` / build (used by scripts that do it later)
#
# Node.js >= 20.5 with npm: taken as it is when present. Otherwise, as root, from apt when the
# distribution's nodejs is recent enough (Debian 13), else Node.js $NODE_PIN and npm $NPM_PIN
# from the npm registry into /usr/local (Debian 12 ships Node.js 18): the node-linux-<arch>
# package carries the nodejs.org Linux build; both tarballs are checked against the sha512
# recorded below.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }
fail() { # exit code, lines
  local code=$1
  shift
  for line in "$@"; do echo "setup: $line" >&2; done
  exit "$code"
}
is_root() { [ "$(id -u)" = 0 ]; }
as_root() { is_root && echo "" || echo "sudo "; }
have() { command -v "$1" >/dev/null 2>&1; }

APT_PACKAGES=(docker.io nix-bin qemu-system-x86 busybox-static jq tmux python3 openssh-client
  dropbear-bin openssh-sftp-server cpio xz-utils iproute2 ca-certificates e2fsprogs dash util-linux
  git curl procps netcat-openbsd netcat-traditional)
# commands that prove each package is there (same order)
APT_PROBES=(dockerd nix qemu-system-x86_64 busybox jq tmux python3 ssh-keygen
  dropbear /usr/lib/openssh/sftp-server cpio xz ip update-ca-certificates mkfs.ext4 dash flock
  git curl ps nc.openbsd nc.traditional)

NODE_MIN=20.5
NODE_PIN=22.23.5
NPM_PIN=10.9.4
declare -A NODE_SRI=(
  [x64]=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
  [arm64]=sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==
)
NPM_SRI=sha512-OnUG836FwboQIbqtefDNlyR0gTHzIfwRfE3DuiNewBvnMnWEpB0VEXwBlFVgqpNzIgYo/MHh3d2Hel/pszapAA==
REGISTRY=${npm_config_registry:-https://registry.npmjs.org}
REGISTRY=${REGISTRY%/}

system_packages() {
  local missing=() i
  for i in "${!APT_PACKAGES[@]}"; do
    have "${APT_PROBES[$i]}" || [ -x "/usr/sbin/${APT_PROBES[$i]}" ] || missing+=("${APT_PACKAGES[$i]}")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if is_root && have apt-get; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    fail 3 "missing packages: ${missing[*]}" \
      "install them (Debian/Ubuntu: $(as_root)apt-get install ${missing[*]}), then run this again"
  fi
}

# --- Node.js ---------------------------------------------------------------------------------
node_ok() {
  have node && node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    const [x, y] = process.argv[1].split(".").map(Number);
    process.exit(a > x || (a === x && b >= y) ? 0 : 1);' "$NODE_MIN" 2>/dev/null
}

# "18.20.4+dfsg-1~deb12u3" >= 20.5 ?
version_at_least() {
  local v=${1#*:}
  [ -n "$v" ] && [ "$v" != "(none)" ] && dpkg --compare-versions "$v" ge "$2"
}

# Downloads NAME@VERSION's tarball from the npm registry to FILE; refuses it unless its sha512 is SRI.
registry_tarball() { # name version sri file
  local url="$REGISTRY/$1/-/${1##*/}-$2.tgz" got
  curl -fsSL --retry 3 -o "$4" "$url" || fail 3 "could not download $url" "check the network (or npm_config_registry), then run this again"
  got="sha512-$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$4")"
  [ "$got" = "$3" ] || fail 3 "$url: sha512 mismatch (got $got, expected $3)" "do not use this download; report it"
}

node_from_registry() {
  local arch tmp
  case $(uname -m) in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) return 1 ;; esac
  tmp=$(mktemp -d)
  registry_tarball "node-linux-$arch" "$NODE_PIN" "${NODE_SRI[$arch]}" "$tmp/node.tgz"
  registry_tarball npm "$NPM_PIN" "$NPM_SRI" "$tmp/npm.tgz"
  mkdir -p "$tmp/node" "$tmp/npm" /usr/local/bin /usr/local/lib/node_modules
  tar -xzf "$tmp/node.tgz" -C "$tmp/node"
  tar -xzf "$tmp/npm.tgz" -C "$tmp/npm"
  install -m 0755 "$tmp/node/package/bin/node" /usr/local/bin/node
  rm -rf /usr/local/lib/node_modules/npm
  mv "$tmp/npm/package" /usr/local/lib/node_modules/npm
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
  rm -rf "$tmp"
  hash -r
  say "installed Node.js v$NODE_PIN and npm $NPM_PIN into /usr/local from the npm registry (node-linux-$arch, npm; sha512 checked)"
}

node_and_npm() {
  local found candidate
  if ! node_ok; then
    found=$(node --version 2>/dev/null || echo none)
    if is_root && have apt-get; then
      candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}')
      if version_at_least "$candidate" "$NODE_MIN"; then
        say "installing nodejs $candidate (apt)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs >/dev/null
        hash -r
      fi
      node_ok || {
        say "Node.js >= $NODE_MIN is needed (found: $found; the distribution's nodejs is ${candidate:-none})"
        node_from_registry || true
      }
    fi
    node_ok || fail 3 "Node.js >= $NODE_MIN with npm is needed (found: $found)" \
      "install Node.js 22 (https://nodejs.org/en/download), or run this script as root: it installs it (apt when recent enough, else Node.js $NODE_PIN from the npm registry into /usr/local)"
  fi
  if ! have npm; then
    if is_root && have apt-get && version_at_least "$(apt-cache policy npm 2>/dev/null | awk '/Candidate:/ {print $2}')" 9; then
      say "installing npm (apt)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    have npm || fail 3 "Node.js $(node --version) has no npm" "install npm ($(as_root)apt-get install npm), then run this again"
  fi
}

pnpm_tool() {
  have pnpm && return 0
  npm install -g pnpm@10 >/dev/null 2>&1 ||
    fail 3 "could not install pnpm" "run: $(as_root)npm install -g pnpm@10 (or enable corepack), then run this again"
  hash -r
  say "installed pnpm $(pnpm --version) (npm install -g pnpm@10)"
}

# --- Nix ---------------------------------------------------------------------------------------
# Debian's nix-bin, run as root, builds as the users of the `build-users-group` (default
# `nixbld`, sandbox on) and nothing creates that group: every build fails until it exists.
# Create it and its build users the way Nix's own installer does.
nix_build_users() {
  is_root || return 0
  local conf group=nixbld made=0 n
  if conf=$(nix --extra-experimental-features nix-command show-config 2>/dev/null); then
    group=$(sed -n 's/^build-users-group = //p' <<<"$conf")
    [ -n "$group" ] || return 0 # configured to build as root, without build users
  fi
  if ! getent group "$group" >/dev/null; then
    groupadd -r "$group"
    say "created the Nix build users group $group"
  fi
  for n in $(seq 1 8); do
    if ! id "${group}$n" >/dev/null 2>&1; then
      useradd -r -g "$group" -G "$group" -d /var/empty -s /usr/sbin/nologin -c "Nix build user $n" "${group}$n"
      made=$((made + 1))
    fi
  done
  [ "$made" = 0 ] || say "created $made Nix build users (${group}1..${group}8)"
}

# A tiny flake built the way `nxc build` builds (same features, the sandbox as configured, a
# build user), something new every time so that Nix really builds: a broken Nix shows here.
nix_builds() {
  local dir out busybox
  busybox=$(command -v busybox)
  dir=$(mktemp -d)
  cp "$busybox" "$dir/busybox"
  cat >"$dir/flake.nix" <<EOF
{
  outputs = { self }: {
    check = builtins.derivation {
      name = "nxc-setup-check";
      system = "$(uname -m)-linux";
      builder = "\${self}/busybox";
      args = [ "sh" "-c" "echo ok > \$out" ];
      nonce = "$(date +%s%N)";
    };
  };
}
EOF
  if out=$(nix --extra-experimental-features 'nix-command flakes' build --no-link --option substituters '' "path:$dir#check" 2>&1); then
    rm -rf "$dir"
    return 0
  fi
  rm -rf "$dir"
  local group
  case $out in
    *"specified in 'build-users-group' does not exist"*)
      group=$(sed -n "s/.*the group '\([^']*\)' specified.*/\1/p" <<<"$out" | head -n1)
      fail 3 "Nix cannot build: its build users group '$group' does not exist" \
        "create it: $(as_root)groupadd -r $group && for i in \$(seq 1 8); do $(as_root)useradd -r -g $group -G $group -d /var/empty -s /usr/sbin/nologin $group\$i; done" ;;
    *"experimental Nix feature"*)
      fail 3 "Nix cannot build flakes: $(grep -m1 'experimental Nix feature' <<<"$out" | sed 's/^error: //')" \
        "add \`experimental-features = nix-command flakes\` to /etc/nix/nix.conf (and remove any experimental-features from \$NIX_CONFIG)" ;;
    *"cannot connect to socket"* | *"Permission denied"* | *"Operation not permitted"* | *"Read-only file system"*)
      fail 3 "Nix cannot build as $(id -un): $(grep -m1 '^error:' <<<"$out" | sed 's/^error: //')" \
        "use the Nix daemon: $(as_root)apt-get install nix-setup-systemd && $(as_root)adduser $(id -un) nix-users, then log in again (or run this script as root)" ;;
    *)
      echo "$out" | tail -n 5 >&2
      fail 3 "Nix cannot build (the error above): fix the Nix installation, then run this again" ;;
  esac
}

# --- Docker ------------------------------------------------------------------------------------
docker_engine() {
  docker info >/dev/null 2>&1 && return 0
  if is_root; then
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
    docker info >/dev/null 2>&1 || {
      tail -5 /tmp/nxc-ci/dockerd.log >&2
      fail 3 "dockerd did not start, see /tmp/nxc-ci/dockerd.log"
    }
    say "started dockerd (pid $(cat /tmp/nxc-ci/dockerd.pid); scripts/stop-docker.sh stops it)"
  else
    fail 3 "no Docker engine answers" "start it ($(as_root)systemctl start docker) and make sure you may use it ($(as_root)adduser $(id -un) docker, then log in again)"
  fi
}

system_packages
node_and_npm
pnpm_tool
nix_build_users
nix_builds

# apt-get download (test OS) needs package lists even when nothing had to be installed.
if is_root && have apt-get && ! ls /var/lib/apt/lists/*Packages* >/dev/null 2>&1; then
  apt-get update -qq
fi

docker_engine

# Offline test OS used by the demo and the tests (Debian binaries fetched with apt-get download).
if [ -x test/fixtures/testos/setup.sh ]; then
  test/fixtures/testos/setup.sh
fi

if [ "${1:-}" != "--no-build" ]; then
  export TURBO_TELEMETRY_DISABLED=1
  pnpm install --frozen-lockfile --reporter=append-only >/dev/null
  pnpm turbo run build --output-logs=errors-only
fi
say "ready"
