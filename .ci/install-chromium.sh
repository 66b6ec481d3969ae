#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard browser test (test/ops/dashboard-browser.test.ts).
# Idempotent: does nothing when chromium is already on PATH.
set -euo pipefail
command -v chromium >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
command -v chromium
