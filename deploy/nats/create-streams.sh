#!/usr/bin/env bash
# Creates Floe's two append-only streams on a production cluster with the
# nats CLI, as the floe-admin user. The JSON files are the exact
# configurations the code creates and accepts (a test keeps them in step);
# Floe services refuse to run on a stream that would let events be removed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${NATS_URL:?set NATS_URL}"
nats stream add --config "$here/floe-events.json"
nats stream add --config "$here/floe-audit.json"
