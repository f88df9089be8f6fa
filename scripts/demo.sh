#!/usr/bin/env bash
# The offline demo on docker: build examples/demo with Nix, start 1 server + 2 clients,
# run the composition's test script against them, stop. Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/../examples/demo"
nxc() { node ../../apps/cli/dist/cli.js "$@"; }
flavour=${1:-docker}
nxc build -f "$flavour"
trap 'nxc stop -f "$flavour"' EXIT
nxc start -f "$flavour" -r client=2 -t
