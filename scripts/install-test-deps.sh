#!/usr/bin/env bash
# Installs the system packages the test suite needs and that cargo cannot provide:
#   - Debian's `chromium`, used headless by the report rendering test
#     (sdk/waypoint-cli/tests/report.rs) to screenshot the evaluator's HTML report.
# Safe to run repeatedly: it installs only what is missing. Needs root (or sudo) and apt.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "install-test-deps: chromium already present ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium
echo "install-test-deps: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
