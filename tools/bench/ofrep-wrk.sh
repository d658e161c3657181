#!/usr/bin/env bash
# OFREP single evaluations under an independent HTTP load generator (wrk).
#
# Builds floe (or uses $FLOE_BIN), starts `floe dev` on a temporary data
# directory with free ports, imports tools/bench/ofrep-flags.json (a static
# flag and a 30 % fractional split) with the floe CLI, then runs wrk against
# the single-evaluation endpoint for each flag:
#
#   wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s tools/bench/post.lua \
#       http://<ofrep>/environments/production/ofrep/v1/evaluate/flags/<key>
#
# as the read-only dev user grace (Authorization: Bearer). Prints wrk's
# report and one "ofrep-wrk:" summary line per flag (req/s, p50/p90/p99).
# The server and wrk share the machine's cores. Figures: docs/performance.md.
#
# Needs wrk (Debian: apt-get install -y wrk) and curl. Environment:
#   DURATION (15s), CONNECTIONS (32), THREADS (2), KEYS ("bench-static bench-fractional"),
#   BASELINE (1: first the same load against a bare net/http server answering
#   a fixed copy of the OFREP body, built from a temp file; 0: skip),
#   FLOE_BIN (a built floe binary; default: built into the temp directory),
#   GOMAXPROCS (passed to floe dev when set).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
KEYS=${KEYS:-bench-static bench-fractional}
BASELINE=${BASELINE:-1}

for tool in wrk curl; do
	if ! command -v "$tool" >/dev/null; then
		echo "ofrep-wrk: $tool is not installed (Debian: apt-get install -y $tool)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

floe=${FLOE_BIN:-}
if [ -z "$floe" ]; then
	echo "== building floe"
	go build -o "$tmp/floe" ./tools/floe
	floe="$tmp/floe"
fi

data="$tmp/data"
mkdir -p "$data"
# The deployer's local proxies on free ports too, so a running `make run` does not collide.
cat >"$data/deployer.yaml" <<'YAML'
local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
YAML
echo "== starting floe dev (data in $data)"
"$floe" dev --data-dir "$data" --deployer-config "$data/deployer.yaml" \
	--grpc-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --ofrep-addr 127.0.0.1:0 --notifier-http-addr 127.0.0.1:0 --nats-listen 127.0.0.1:0 \
	--log-format json >"$tmp/floe.log" 2>&1 &
pid=$!
creds="$data/dev-credentials.yaml"
for _ in $(seq 600); do
	if [ -s "$creds" ] && grep -q "floe dev is running" "$tmp/floe.log"; then
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "ofrep-wrk: floe dev exited:" >&2
		cat "$tmp/floe.log" >&2
		exit 1
	fi
	sleep 0.1
done
grep -q "floe dev is running" "$tmp/floe.log" || { echo "ofrep-wrk: floe dev did not start in 60s" >&2; exit 1; }

ofrep=$(awk '$1 == "ofrep:" {print $2}' "$creds")
# The read-only dev user's token (support role: flag.read).
token=$(awk '$1 == "-" && $2 == "id:" {user = $3} $1 == "token:" && user == "grace" {print $2; exit}' "$creds")
if [ -z "$ofrep" ] || [ -z "$token" ]; then
	echo "ofrep-wrk: no ofrep address or reader token in $creds" >&2
	exit 1
fi

export FLOE_CREDENTIALS="$creds" FLOE_STATE_DIR="$tmp/state" FLOE_TOKEN="" FLOE_SERVER=""
"$floe" flags import --env production --file tools/bench/ofrep-flags.json --reason "OFREP benchmark"

base="http://$ofrep/environments/production/ofrep/v1/evaluate/flags"
for key in $KEYS; do
	# The flag is in the view once OFREP answers it.
	for _ in $(seq 300); do
		code=$(curl -s -o "$tmp/sample.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
			-H 'Content-Type: application/json' -d '{"context":{"targetingKey":"user-1"}}' "$base/$key" || true)
		[ "$code" = 200 ] && break
		sleep 0.1
	done
	if [ "$code" != 200 ]; then
		echo "ofrep-wrk: $key answers $code: $(cat "$tmp/sample.json")" >&2
		exit 1
	fi
	echo "== $key: $(cat "$tmp/sample.json")"
done

# The baseline: a bare net/http server on loopback answering the static
# flag's OFREP body (read from the endpoint above) to the same requests, so
# the flag service's cost shows against the HTTP stack's on this machine.
baseline=""
if [ "$BASELINE" = 1 ]; then
	mkdir -p "$tmp/baseline"
	cat >"$tmp/baseline/main.go" <<'GO'
// Command baseline answers every request with the bytes of a file, as JSON.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	body, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(lis.Addr())
	panic(http.Serve(lis, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})))
}
GO
	printf 'module baseline\n\ngo 1.22\n' >"$tmp/baseline/go.mod"
	(cd "$tmp/baseline" && GOWORK=off go build -o baseline .)
	curl -s -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		-d '{"context":{"targetingKey":"user-1"}}' "$base/${KEYS%% *}" >"$tmp/baseline/body.json"
	"$tmp/baseline/baseline" "$tmp/baseline/body.json" >"$tmp/baseline/addr" &
	bpid=$!
	trap 'kill $bpid 2>/dev/null || true; cleanup' EXIT
	for _ in $(seq 100); do [ -s "$tmp/baseline/addr" ] && break; sleep 0.05; done
	baseline="http://$(cat "$tmp/baseline/addr")/ofrep/v1/evaluate/flags/baseline"
fi

echo "== machine: $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg); wrk $(wrk --version 2>&1 | head -1 | awk '{print $2}')"
if [ -n "$baseline" ]; then
	echo "== baseline: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s tools/bench/post.lua $baseline"
	OFREP_TOKEN="$token" OFREP_VARY_KEY=0 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s tools/bench/post.lua "$baseline"
fi
for key in $KEYS; do
	vary=0
	case $key in *fractional*) vary=1 ;; esac
	echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s tools/bench/post.lua $base/$key (OFREP_VARY_KEY=$vary)"
	OFREP_TOKEN="$token" OFREP_VARY_KEY=$vary wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s tools/bench/post.lua "$base/$key"
done
