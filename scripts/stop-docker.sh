#!/usr/bin/env bash
# Stops the dockerd that scripts/setup.sh started (if any).
pidfile=/tmp/nxc-ci/dockerd.pid
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$pidfile"
