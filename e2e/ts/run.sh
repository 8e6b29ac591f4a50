#!/usr/bin/env bash
# Runs the TypeScript client scenario against a fresh `vectordb serve`:
# installs the pinned client (npm ci, from package-lock.json), builds the
# server, starts it on a free port with an API key, runs scenario.mjs,
# stops the server with SIGTERM. Exit status: the scenario's.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$root" && go build -o "$work/vectordb" ./cmd/vectordb)
port=5090
"$work/vectordb" serve -dir "$work/data" -listen "127.0.0.1:$port" -key e2e-key 2>"$work/server.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
status=0
VECTORDB_URL="http://127.0.0.1:$port" VECTORDB_KEY=e2e-key node "$here/scenario.mjs" || status=$?
kill -TERM "$pid"; wait "$pid" || true
if [ "$status" != 0 ]; then tail -n 30 "$work/server.log"; fi
exit "$status"
