#!/usr/bin/env bash
# Installs the system packages the test suite needs and that cargo cannot provide:
#   - Debian's `chromium`, used headless by the report rendering test
#     (sdk/waypoint-cli/tests/report.rs) to screenshot the evaluator's HTML report;
#   - Debian's `redis-server`, the shared player-state store the multi-server tests
#     (integration-tests/tests/shared_store*.rs) start on loopback ports of their own.
#     `valkey-server` is not packaged in this Debian release; the store speaks the protocol
#     both implement, so either binary works when present.
# Safe to run repeatedly: it installs only what is missing. Needs root (or sudo) and apt.
# It leaves no server running: the tests start and stop their own.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

missing=()
if [ ! -x /usr/bin/chromium ]; then
    missing+=(chromium)
else
    echo "install-test-deps: chromium already present ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
fi
if ! command -v redis-server >/dev/null 2>&1 && ! command -v valkey-server >/dev/null 2>&1; then
    missing+=(redis-server)
else
    echo "install-test-deps: $(command -v valkey-server || command -v redis-server) already present"
fi

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# policy-rc.d exit code 101 tells Debian's maintainer scripts not to start services, so
# installing redis-server does not leave a server listening on the default port.
policy_rc_d=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy_rc_d" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy_rc_d" >/dev/null
    $SUDO chmod +x "$policy_rc_d"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        $SUDO rm -f "$policy_rc_d"
    fi
}
trap cleanup EXIT
port_open() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
listening_before=0
if port_open; then
    listening_before=1
fi
$SUDO apt-get install -y "${missing[@]}"

# Should a maintainer script have started the daemon anyway, stop the one this install started
# (never a server that was already listening before).
if [ "$listening_before" -eq 0 ] && port_open && command -v redis-cli >/dev/null 2>&1; then
    redis-cli -p 6379 shutdown nosave >/dev/null 2>&1 || true
fi
for package in "${missing[@]}"; do
    echo "install-test-deps: installed $package"
done
