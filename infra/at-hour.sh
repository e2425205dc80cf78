#!/usr/bin/env bash
# Runs the end-to-end tests with the clock of their processes set to a given GMT+8 time of
# today, through libfaketime (Debian `faketime`), so that no test's outcome depends on the
# hour CI happens to run at.
#
# Usage: infra/at-hour.sh HH:MM [HH:MM...] [-- <extra args for cargo nextest run>]
#
# Only the test processes see the faked time (a cargo target runner preloads the library);
# cargo and the compiler do not. The clock starts at the given time and runs on; monotonic
# time is left real (timeouts and sleeps behave). Emulator variables are removed: the AWS
# SDK would sign requests with the faked time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TIMES=() EXTRA=()
while (($#)); do
    case "$1" in
        --) shift; EXTRA=("$@"); break ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) TIMES+=("$1") ;;
    esac
    shift
done
((${#TIMES[@]})) || { echo "usage: infra/at-hour.sh HH:MM [HH:MM...] [-- nextest args]" >&2; exit 2; }

find_lib() { ls /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 2>/dev/null | head -1; }
LIB="$(find_lib || true)"
if [[ -z "$LIB" ]]; then
    echo "libfaketime missing: apt-get install faketime" >&2
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime; } >&2 || true
        LIB="$(find_lib || true)"
    fi
    [[ -n "$LIB" ]] || { echo "cannot install libfaketime (Debian package faketime)" >&2; exit 1; }
fi

# The end-to-end tests of orders, refunds, the simulator and local mode.
FILTER='package(busgate-tests) & test(/^(sim|refund_callbacks|local_e2e|catalogue_e2e|hardening|orders_concurrency|relation_e2e|fenbeitong_e2e)::/) | package(busgate-cli) | package(busgate-edge)'

rc=0
for hhmm in "${TIMES[@]}"; do
    day="$(date -u -d '+8 hours' +%F)"                         # today in GMT+8
    start="$(date -u -d "$day $hhmm:00 +0800" '+%F %T')"         # that time, in UTC
    echo "==> tests at $day $hhmm GMT+8 (faketime @$start UTC)" >&2
    if ! env -u AWS_ENDPOINT_URL_DYNAMODB -u AWS_ENDPOINT_URL_SQS -u BUSGATE_TEST_EMULATORS \
        TZ=UTC FAKETIME="@$start" FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_RESET=1 \
        CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env LD_PRELOAD=$LIB" \
        cargo nextest run --workspace --no-fail-fast -E "$FILTER" ${EXTRA[@]+"${EXTRA[@]}"}; then
        echo "<== FAILED at $hhmm GMT+8" >&2
        rc=1
    fi
done
exit "$rc"
