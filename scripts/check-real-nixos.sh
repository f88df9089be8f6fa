#!/usr/bin/env bash
# Checks nxc against real NixOS on a machine that has Nix and can reach a nixpkgs: for every
# local flavour (docker, vm-ramdisk, vm) it creates a project from each `nxc init` template,
# builds it with the real `nxc` CLI against that nixpkgs, starts it, runs the template's
# test script (`nxc start -t`), stops it, and prints one line per flavour:
#   PASS docker (basic, client-server, k3s, nfs)
#   FAIL vm: template nfs: start: <last line of its log>
# Logs stay in the work folder printed at the end. Run from a checkout after `pnpm install`
# and `pnpm build`; docker needs a running dockerd, the VM flavours QEMU (KVM if it works).
set -uo pipefail

usage() {
  cat <<'EOF'
usage: scripts/check-real-nixos.sh [options]
  --nixpkgs REF      nixpkgs flake reference (default: $NXC_CHECK_NIXPKGS, else
                     github:NixOS/nixpkgs/nixos-unstable); a local checkout: path:/abs/dir
  --flavour NAME     docker, vm-ramdisk or vm (repeatable; default: all three)
  --template NAME    a template of nix/templates (repeatable; default: all)
  --work DIR         where projects and logs go (default: a new folder under $TMPDIR)
  --start-args ARGS  extra arguments for `nxc start` (e.g. "-O memory=2048 --accel tcg")
  -h, --help         this help
exit status: 0 every flavour passed, 1 some failed, 2 bad arguments, 3 no nixpkgs or no nxc
EOF
}

die() { # status, message
  echo "check-real-nixos: $2" >&2
  exit "$1"
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
local_flavours=(docker vm-ramdisk vm)
mapfile -t all_templates < <(cd "$here/nix/templates" && for d in */; do [ -f "$d/composition.nix" ] && echo "${d%/}"; done)

nixpkgs=${NXC_CHECK_NIXPKGS:-github:NixOS/nixpkgs/nixos-unstable}
flavours=()
templates=()
work=
start_args=

while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --nixpkgs | --flavour | --template | --work | --start-args)
      [ $# -ge 2 ] || die 2 "$1 needs a value (see --help)"
      case $1 in
        --nixpkgs) nixpkgs=$2 ;;
        --flavour) flavours+=("$2") ;;
        --template) templates+=("$2") ;;
        --work) work=$2 ;;
        --start-args) start_args=$2 ;;
      esac
      shift 2
      ;;
    *) die 2 "unknown argument '$1' (see --help)" ;;
  esac
done

[ ${#flavours[@]} -gt 0 ] || flavours=("${local_flavours[@]}")
[ ${#templates[@]} -gt 0 ] || templates=("${all_templates[@]}")
for f in "${flavours[@]}"; do
  [[ " ${local_flavours[*]} " == *" $f "* ]] ||
    die 2 "--flavour $f: this check runs the local flavours only (${local_flavours[*]})"
done
for t in "${templates[@]}"; do
  [[ " ${all_templates[*]} " == *" $t "* ]] || die 2 "--template $t: no such template (${all_templates[*]})"
done

nixf=(--extra-experimental-features 'nix-command flakes')
command -v nix >/dev/null 2>&1 || die 3 "nix is not installed (https://nixos.org/download)"
cli=$here/apps/cli/dist/cli.js
[ -f "$cli" ] || die 3 "the nxc CLI is not built ($cli): run pnpm install && pnpm build"

# The nixpkgs every project builds from: fetched (or found) once, refused if it is not one.
meta=$(nix "${nixf[@]}" --option connect-timeout 10 flake metadata --json "$nixpkgs" 2>&1) ||
  die 3 "no nixpkgs: cannot get $nixpkgs ($(printf '%s\n' "$meta" | grep -v -e '^warning' -e 'show-trace' | grep . | tail -n 1)); run this where it can be fetched, or pass --nixpkgs path:/path/to/nixpkgs"
src=$(printf '%s' "$meta" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).path)}catch{}})')
[ -n "$src" ] && [ -f "$src/nixos/lib/eval-config.nix" ] ||
  die 3 "no nixpkgs: $nixpkgs is not a nixpkgs (no nixos/lib/eval-config.nix)"
locked=$(printf '%s' "$meta" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);console.log(m.url||m.originalUrl||"")})')

[ -n "$work" ] || work=$(mktemp -d "${TMPDIR:-/tmp}/nxc-check-real-nixos-XXXXXX")
mkdir -p "$work" || die 2 "--work $work: cannot create it"
echo "nixpkgs: ${locked:-$nixpkgs}"
echo "work folder: $work"

nxc() { node "$cli" "$@"; }
# The reason of a failed step: its log's last `error:` line, else its last line.
why() {
  local l
  l=$(grep '^error' "$1" | tail -n 1)
  [ -n "$l" ] || l=$(tail -n 1 "$1")
  printf '%s' "$l"
}

# Runs one template on one flavour; prints nothing, returns "step: reason" in $reason.
check_one() { # flavour template
  local f=$1 t=$2 proj=$work/$2-$1 log=$work/$2-$1.log
  rm -rf "$proj"
  nxc init -t "$t" "$proj" >"$log" 2>&1 || { reason="init: $(why "$log")"; return 1; }
  node -e '
    const [file, repo, nixpkgs] = process.argv.slice(1);
    const plugins = ["flavour-docker", "flavour-qemu"].map((p) => `${repo}/plugins/${p}`);
    require("fs").writeFileSync(file, JSON.stringify({ name: "nxc-check", private: true,
      nxc: { plugins, nix: { overrideInputs: { nixpkgs } } } }, null, 2));
  ' "$proj/package.json" "$here" "$locked" || { reason="setup: cannot write package.json"; return 1; }
  (cd "$proj" && nxc build -f "$f") >>"$log" 2>&1 || { reason="build: $(why "$log")"; return 1; }
  # shellcheck disable=SC2086 # start_args is split on purpose
  if ! (cd "$proj" && nxc start -f "$f" -t $start_args) >>"$log" 2>&1; then
    reason="start/test script: $(why "$log")"
    (cd "$proj" && nxc stop -f "$f") >>"$log" 2>&1
    return 1
  fi
  (cd "$proj" && nxc stop -f "$f") >>"$log" 2>&1 || { reason="stop: $(why "$log")"; return 1; }
  return 0
}

failed=0
for f in "${flavours[@]}"; do
  line="PASS $f (${templates[*]})"
  for t in "${templates[@]}"; do
    reason=
    if ! check_one "$f" "$t"; then
      line="FAIL $f: template $t: $reason (log: $work/$t-$f.log)"
      failed=1
      break
    fi
  done
  echo "$line"
done
exit "$failed"
