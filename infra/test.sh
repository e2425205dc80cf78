#!/usr/bin/env bash
# The one command that runs Busgate's whole test suite, on a fresh machine too.
#
# Usage: infra/test.sh [--package] [-- <extra args for cargo nextest run>]
#
# Phases (each one timed; all run even when an earlier one failed, exit code non-zero if any failed):
#   browser    Debian's chromium, chromium-driver and fonts-wqy-microhei if missing (the console's
#              browser tests; exports BUSGATE_TEST_BROWSER=1)
#   tools      cargo-nextest if missing (cargo install --locked;
#              set BUSGATE_INSTALL_NEXTEST=0 to skip and fall back to `cargo test`)
#   emulators  infra/emulators.sh start in a private state dir (own ports), stopped on exit
#   doctests   cargo test --workspace --doc              (nextest does not run doctests)
#   tests      cargo build --workspace --bins (the offline AWS stack runs them), then
#              cargo nextest run --workspace --no-fail-fast   (or cargo test --workspace --no-fail-fast)
#   hours      the end-to-end tests again at 09:20 and 23:55 GMT+8 (infra/at-hour.sh, libfaketime;
#              installs Debian's faketime when missing): no outcome may depend on the hour
#   style      cargo fmt --all --check (rustfmt.toml), cargo clippy --workspace --all-targets -D warnings,
#              cargo machete: no unused dependency (cargo-machete installed when missing)
#   lint       cfn-lint template.yaml (pip, in infra/.cache/venv), template.yaml == infra/gen_template.py
#              output, and every functions/<name> crate has a function in the template (and back)
#   package    only with --package: cargo lambda build --release --arm64 for every functions/<name>,
#              then the size of each target/lambda/<name>/bootstrap
#   bundle     only with --package: that arm64 bundle, as it ships, on the offline AWS stack
#              (infra/stack.sh up --arm64, under qemu-user; Debian qemu-user and libc6-arm64-cross are
#              installed when missing) and `busgate sim --strict` against it
#
# Environment: everything infra/emulators.sh reads (BUSGATE_CACHE_DIR, BUSGATE_DDB_PORT, ...), and
#   BUSGATE_INSTALL_NEXTEST=0     do not cargo-install nextest when it is missing
#   BUSGATE_CFN_LINT_SPEC         pip spec for cfn-lint     (default cfn-lint==1.58.0)
#   BUSGATE_CARGO_LAMBDA_SPEC     pip spec for cargo-lambda (default cargo-lambda==1.9.2)
#   BUSGATE_SAM_VALIDATE=1        also run `sam validate --lint` (installs aws-sam-cli, ~30 s, 340 MB)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CACHE="${BUSGATE_CACHE_DIR:-$ROOT/infra/.cache}"
export BUSGATE_CACHE_DIR="$CACHE"
VENV="$CACHE/venv"
CFN_LINT_SPEC="${BUSGATE_CFN_LINT_SPEC:-cfn-lint==1.58.0}"
CARGO_LAMBDA_SPEC="${BUSGATE_CARGO_LAMBDA_SPEC:-cargo-lambda==1.9.2}"
SAM_SPEC="${BUSGATE_SAM_SPEC:-aws-sam-cli==1.170.0}"

PACKAGE=0
NEXTEST_EXTRA=()
while (($#)); do
    case "$1" in
        --package) PACKAGE=1 ;;
        --) shift; NEXTEST_EXTRA=("$@"); break ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "infra/test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '\n==> %s\n' "$*" >&2; }
now() { date +%s.%N; }
PHASES=() FAILED=()
T_ALL="$(now)"
# run_phase <name> <function>: runs it, records its time and result, never stops the script.
run_phase() {
    local name="$1" fn="$2" t0 rc=0
    say "$name"
    t0="$(now)"
    "$fn" || rc=$?
    local dt; dt="$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
    if ((rc == 0)); then
        PHASES+=("$(printf '%-10s %8s s  ok' "$name" "$dt")")
    else
        PHASES+=("$(printf '%-10s %8s s  FAILED (exit %d)' "$name" "$dt" "$rc")")
        FAILED+=("$name")
    fi
    printf '<== %s: %s s, exit %d\n' "$name" "$dt" "$rc" >&2
    return 0
}

# --- emulators: a private state dir per run, so concurrent runs in one tree do not meet ------------
EMU_STATE="$CACHE/test-run.$$"
EMU_STARTED=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((EMU_STARTED)); then
        BUSGATE_EMU_STATE_DIR="$EMU_STATE" "$ROOT/infra/emulators.sh" stop || true
        if ((${#FAILED[@]} == 0)); then rm -rf "$EMU_STATE"; else echo "emulator logs kept in $EMU_STATE/logs" >&2; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The console's browser tests (tests/tests/it/console_browser.rs): Debian's Chromium, its driver and a
# CJK font for the screenshots. Installed when missing (root and apt-get); BUSGATE_TEST_BROWSER=1
# then makes a missing browser a test failure rather than a skip.
install_browser() {
    local have=1
    command -v chromedriver >/dev/null && command -v chromium >/dev/null || have=0
    fc-list 2>/dev/null | grep -qi "wqy\|noto.*cjk" || have=0
    if ((have == 0)); then
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
            echo "installing chromium, chromium-driver and a CJK font (Debian)" >&2
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei; } >&2 || return 1
        else
            echo "needs Debian's chromium, chromium-driver and fonts-wqy-microhei (not root: install them first)" >&2
            return 1
        fi
    fi
    chromium --version 2>/dev/null | head -1 >&2
    export BUSGATE_TEST_BROWSER=1
}

HAVE_NEXTEST=0
phase_tools() {
    if cargo nextest --version >/dev/null 2>&1; then
        HAVE_NEXTEST=1; cargo nextest --version | head -1 >&2; return 0
    fi
    if [[ "${BUSGATE_INSTALL_NEXTEST:-1}" == 0 ]]; then
        echo "cargo-nextest missing; BUSGATE_INSTALL_NEXTEST=0: falling back to cargo test" >&2; return 0
    fi
    echo "cargo-nextest missing: cargo install --locked cargo-nextest (a few minutes)" >&2
    if cargo install --locked cargo-nextest >&2 && cargo nextest --version >/dev/null 2>&1; then
        HAVE_NEXTEST=1
    else
        echo "could not install cargo-nextest: falling back to cargo test" >&2
    fi
    return 0
}

phase_emulators() {
    # Stop what an earlier run that died without cleaning up (kill -9) left behind.
    local d
    for d in "$CACHE"/test-run.*/; do
        [[ -d "$d" ]] || continue
        d="${d%/}"
        if ! kill -0 "${d##*.}" 2>/dev/null; then
            BUSGATE_EMU_STATE_DIR="$d" "$ROOT/infra/emulators.sh" stop || true
            rm -rf "$d"
        fi
    done
    EMU_STARTED=1
    BUSGATE_EMU_STATE_DIR="$EMU_STATE" "$ROOT/infra/emulators.sh" start >/dev/null || return 1
    # shellcheck disable=SC1091
    . "$EMU_STATE/emulators.env"
    env | grep -E '^(AWS_ENDPOINT_URL_|BUSGATE_TEST_EMULATORS)' | sort >&2
}

phase_doctests() { cargo test --workspace --doc; }

phase_tests() {
    # The function binaries first: the offline-stack tests (tests/tests/it/aws_stack.rs) run them.
    cargo build --workspace --bins || return 1
    if ((HAVE_NEXTEST)); then
        cargo nextest run --workspace --no-fail-fast ${NEXTEST_EXTRA[@]+"${NEXTEST_EXTRA[@]}"}
    else
        # also runs the doctests
        cargo test --workspace --no-fail-fast
    fi
}

phase_hours() {
    if ((HAVE_NEXTEST == 0)); then echo "needs cargo-nextest (its filter expressions)" >&2; return 1; fi
    "$ROOT/infra/at-hour.sh" 09:20 23:55
}

phase_style() {
    local rc=0
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        rustup component add rustfmt clippy >&2 || return 1
    fi
    cargo fmt --all --check >&2 || { echo "cargo fmt --all: the code is not formatted" >&2; rc=1; }
    cargo clippy --workspace --all-targets -- -D warnings || rc=1
    if ! cargo machete --version >/dev/null 2>&1; then
        cargo install --locked "cargo-machete@${BUSGATE_MACHETE_VERSION:-0.9.2}" >&2 || return 1
    fi
    cargo machete >&2 || { echo "cargo machete: unused dependencies (remove them, or list a false positive under [package.metadata.cargo-machete])" >&2; rc=1; }
    return "$rc"
}

venv_pip() { # venv_pip <pip spec>...: install into the shared venv
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV" >&2 || { echo "python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; return 1; }
    fi
    echo "pip install $*" >&2
    "$VENV/bin/pip" install --disable-pip-version-check -q "$@" >&2
}

function_names() { # every functions/<name>/ that is a crate
    local d
    for d in "$ROOT"/functions/*/; do
        [[ -f "$d/Cargo.toml" ]] && basename "$d"
    done
    return 0
}

phase_lint() {
    local rc=0
    [[ -f template.yaml ]] || { echo "template.yaml is missing" >&2; return 1; }
    if [[ ! -x "$VENV/bin/cfn-lint" ]]; then venv_pip "$CFN_LINT_SPEC" || return 1; fi
    "$VENV/bin/cfn-lint" --version >&2
    if "$VENV/bin/cfn-lint" template.yaml; then echo "cfn-lint: template.yaml ok" >&2; else rc=1; fi
    python3 infra/gen_template.py --check >&2 || rc=1

    # Every functions/<name> crate has a function in the template (Binary: <name>), and back.
    local in_template in_tree missing extra
    in_template="$(sed -n 's/^[[:space:]]*Binary:[[:space:]]*\([A-Za-z0-9_-]*\).*/\1/p' template.yaml | sort -u)"
    in_tree="$(function_names | sort -u)"
    missing="$(comm -23 <(echo "$in_tree") <(echo "$in_template") | sed '/^$/d')"
    extra="$(comm -13 <(echo "$in_tree") <(echo "$in_template") | sed '/^$/d')"
    if [[ -n "$missing" ]]; then echo "functions/ crates with no function in template.yaml: $(tr "\n" " " <<<"$missing")" >&2; rc=1; fi
    if [[ -n "$extra" ]]; then echo "template.yaml builds binaries that have no functions/<name> crate: $(tr "\n" " " <<<"$extra")" >&2; rc=1; fi
    [[ -z "$missing$extra" ]] && echo "template.yaml and functions/ agree: $(echo "$in_tree" | wc -l) functions" >&2

    if [[ "${BUSGATE_SAM_VALIDATE:-0}" == 1 ]]; then
        local sam_venv="$CACHE/sam-venv"
        if [[ ! -x "$sam_venv/bin/sam" ]]; then
            python3 -m venv "$sam_venv" && "$sam_venv/bin/pip" install --disable-pip-version-check -q "$SAM_SPEC" >&2 || return 1
        fi
        SAM_CLI_TELEMETRY=0 AWS_REGION="${AWS_REGION:-us-east-1}" "$sam_venv/bin/sam" validate --lint </dev/null || rc=1
    fi
    return "$rc"
}

phase_package() {
    if [[ ! -x "$VENV/bin/cargo-lambda" ]]; then venv_pip "$CARGO_LAMBDA_SPEC" || return 1; fi
    if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
        rustup target add aarch64-unknown-linux-gnu >&2 || return 1
    fi
    local names=() bins=() n
    mapfile -t names < <(function_names)
    ((${#names[@]})) || { echo "no functions/<name> crates to package" >&2; return 1; }
    for n in "${names[@]}"; do bins+=(--bin "$n"); done
    # The emulator endpoints must not leak into a build script; cargo-lambda finds zig in the venv.
    env -u AWS_ENDPOINT_URL_DYNAMODB -u AWS_ENDPOINT_URL_SQS PATH="$VENV/bin:$PATH" \
        cargo lambda build --release --arm64 "${bins[@]}" || return 1

    local target rc=0 f size total=0
    target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    printf '%-22s %12s  %s\n' function bytes bootstrap >&2
    for n in "${names[@]}"; do
        f="$target/lambda/$n/bootstrap"
        if [[ -f "$f" ]]; then
            size="$(stat -c %s "$f")"; total=$((total + size))
            printf '%-22s %12s  %s (%s)\n' "$n" "$size" "$f" "$(numfmt --to=iec --suffix=B "$size" 2>/dev/null || echo "$size B")" >&2
        else
            printf '%-22s %12s  %s\n' "$n" MISSING "$f" >&2; rc=1
        fi
    done
    printf '%-22s %12s\n' total "$total" >&2
    return "$rc"
}

phase_bundle() {
    if ! command -v qemu-aarch64 >/dev/null || [[ ! -d /usr/aarch64-linux-gnu ]]; then
        [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null || { echo "needs qemu-user and libc6-arm64-cross" >&2; return 1; }
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross; } >&2 || return 1
    fi
    local state="$CACHE/bundle-stack.$$" rc=0 target
    target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    CARGO_TARGET_DIR="$target" "$ROOT/infra/stack.sh" up --arm64 --no-build --state-dir "$state" >"$state.env" || return 1
    (set -a; . "$state.env"; set +a
     "$target/debug/busgate" sim --base-url "$BUSGATE_BASE_URL" --fenbeitong-token demo-fenbeitong-token-0001 --strict --async-wait-secs 60) >&2 || rc=1
    "$ROOT/infra/stack.sh" down --state-dir "$state" || true
    rm -rf "$state" "$state.env"
    return "$rc"
}

run_phase browser install_browser
run_phase tools phase_tools
run_phase emulators phase_emulators
if ((HAVE_NEXTEST)); then run_phase doctests phase_doctests; fi
run_phase tests phase_tests
run_phase hours phase_hours
run_phase style phase_style
run_phase lint phase_lint
if ((PACKAGE)); then
    run_phase package phase_package
    run_phase bundle phase_bundle
fi

T_TOTAL="$(awk -v a="$T_ALL" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
{
    echo
    echo "==== infra/test.sh summary ===="
    printf '%s\n' "${PHASES[@]}"
    printf '%-10s %8s s\n' total "$T_TOTAL"
} >&2
if ((${#FAILED[@]})); then
    echo "FAILED phases: ${FAILED[*]}" >&2
    exit 1
fi
echo "all phases passed" >&2
