#!/usr/bin/env bash
# The AWS stack of template.yaml, offline on this machine: no AWS account, no Docker.
#
# Usage:
#   infra/stack.sh up   [options]     build, start everything in the background, print KEY=value lines
#   infra/stack.sh down [--state-dir DIR]   stop what `up` started from that state dir, nothing else
#
# What runs (infra/stack/stackd.py has the details): the table, the queues and the SSM parameters
# created from template.yaml itself; every function of the template as its own process from its
# binary, under a Lambda Runtime API, with the template's environment, Timeout and MemorySize; the
# HTTP API (payload v2, $default stage); the SQS event source mapping (batch size, partial batch
# failures, redrive at maxReceiveCount); the sweeper's schedule (every --sweep-every s); the
# Parameters and Secrets extension; each function's AWS calls authorised against its own policy;
# fake TOP and Fenbeitong gateways that verify and record calls. The demo catalogue is imported.
#
# Printed (stdout; also in DIR/stack.env): BUSGATE_BASE_URL, BUSGATE_FAKE_TOP_URL (GET: recorded TOP
# calls; POST .../script: scripted answers), BUSGATE_FAKE_FENBEITONG_URL, BUSGATE_STACK_CONTROL_URL
# (GET /functions, GET /denials, POST /kill/<function>), and what `busgate --target aws …` needs:
# BUSGATE_TABLE, BUSGATE_QUEUE_URL, BUSGATE_DLQ_URL, AWS_ENDPOINT_URL_*, AWS credentials; and the
# console: BUSGATE_CONSOLE_URL (its sign-in page), BUSGATE_CONSOLE_USER and BUSGATE_CONSOLE_PASSWORD (a
# test operator created in the stack's Cognito user pool, emulated by moto), BUSGATE_CONSOLE_CLIENT_ID,
# BUSGATE_COGNITO_URL.
#
# Options of up:
#   --state-dir DIR          state, logs, PID files (default infra/.cache/stack)
#   --template FILE          another template (default template.yaml; tests use a variant to show that a
#                            permission missing from it fails)
#   --param NAME=VALUE       a template parameter, as `sam deploy --parameter-overrides` (repeatable)
#   --issue-mode sync|async  --refund-mode sync|async  --auto-issue true|false  --auto-refund true|false
#                            shortcuts for the IssueMode, RefundMode, AutoIssue, AutoRefund parameters
#   --extension-delay-ms N   the secrets extension serves N ms after its function starts (cold start race)
#   --sweep-every SECS       how often the scheduled sweeper runs (template: 1 minute; default 5)
#   --without-parameter NAME do not create the SSM parameter /busgate/<Stage>/NAME (what a forgotten
#                            put-parameter does), e.g. qimen-app-secret
#   --release                run release builds (default: the debug build of the same crates)
#   --arm64                  run the arm64 bundle that ships (target/lambda/<name>/bootstrap, built by
#                            `infra/test.sh --package` or `cargo lambda build --release --arm64`) under
#                            qemu-user (Debian qemu-user and libc6-arm64-cross; slower cold starts)
#   --no-build               use the binaries already built
#   --no-demo                do not import the demo catalogue
# Secrets come from the environment, as production keeps them in SSM: BUSGATE_QIMEN_SECRET,
# BUSGATE_FENBEITONG_TOKENS, BUSGATE_TOP_SECRET, BUSGATE_TOP_SESSION, BUSGATE_FENBEITONG_SIGN_KEY,
# BUSGATE_FENBEITONG_ACCESS_TOKEN (demo values when unset; printed never).
# Emulators: those of AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS when they answer (the test
# run's), otherwise infra/emulators.sh starts a private pair in DIR/emulators (stopped by down).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${BUSGATE_CACHE_DIR:-$ROOT/infra/.cache}"
VENV="$CACHE/venv"

say() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

cmd="${1:-}"; shift || true
STATE="$CACHE/stack" TEMPLATE="$ROOT/template.yaml" PARAMS=() EXT_DELAY=0 SWEEP=5 WITHOUT=() PROFILE=debug BUILD=1 DEMO=1
while (($#)); do
    case "$1" in
        --state-dir) STATE="$2"; shift ;;
        --template) TEMPLATE="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift ;;
        --param) PARAMS+=("$2"); shift ;;
        --issue-mode) PARAMS+=("IssueMode=$2"); shift ;;
        --refund-mode) PARAMS+=("RefundMode=$2"); shift ;;
        --auto-issue) PARAMS+=("AutoIssue=$2"); shift ;;
        --auto-refund) PARAMS+=("AutoRefund=$2"); shift ;;
        --extension-delay-ms) EXT_DELAY="$2"; shift ;;
        --sweep-every) SWEEP="$2"; shift ;;
        --without-parameter) WITHOUT+=("$2"); shift ;;
        --release) PROFILE=release ;;
        --arm64) PROFILE=arm64 ;;
        --no-build) BUILD=0 ;;
        --no-demo) DEMO=0 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"

http_up() { curl -s -o /dev/null -m 2 "$1" 2>/dev/null; }

down() {
    if [[ -f "$STATE/stackd.pid" ]]; then
        local pid; pid="$(cat "$STATE/stackd.pid")"
        if kill -0 "$pid" 2>/dev/null && grep -q stackd.py "/proc/$pid/cmdline" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
            say "stopped the stack (pid $pid)"
        fi
        rm -f "$STATE/stackd.pid" "$STATE/stack.env"
    fi
    if [[ -d "$STATE/emulators" ]]; then
        BUSGATE_EMU_STATE_DIR="$STATE/emulators" "$ROOT/infra/emulators.sh" stop || true
    fi
}

up() {
    local t0; t0="$(now)"
    down >/dev/null 2>&1 || true
    command -v curl >/dev/null || die "curl is needed"
    # --- emulators: the test run's when they answer, else a private pair
    if [[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" && -n "${AWS_ENDPOINT_URL_SQS:-}" ]] && http_up "$AWS_ENDPOINT_URL_DYNAMODB" && http_up "$AWS_ENDPOINT_URL_SQS"; then
        DDB="$AWS_ENDPOINT_URL_DYNAMODB" MOTO="$AWS_ENDPOINT_URL_SQS"
        say "emulators: reusing $DDB (DynamoDB) and $MOTO (SQS, SSM)"
    else
        BUSGATE_EMU_STATE_DIR="$STATE/emulators" "$ROOT/infra/emulators.sh" start >/dev/null
        # shellcheck disable=SC1091
        DDB="$(. "$STATE/emulators/emulators.env"; echo "$AWS_ENDPOINT_URL_DYNAMODB")"
        MOTO="$(. "$STATE/emulators/emulators.env"; echo "$AWS_ENDPOINT_URL_SQS")"
    fi
    "$VENV/bin/python" -c 'import yaml, boto3, moto.ssm, moto.cognitoidp, joserfc' 2>/dev/null \
        || "$VENV/bin/pip" install --disable-pip-version-check -q "moto[dynamodb,sqs,ssm,cognitoidp]==5.2.5" pyyaml >&2

    # --- the function binaries (and busgate for the demo import)
    local target="${CARGO_TARGET_DIR:-$ROOT/target}"
    local flags=() bin="$target/debug" layout=()
    [[ "$PROFILE" == release ]] && flags=(--release) bin="$target/release"
    if [[ "$PROFILE" == arm64 ]]; then
        command -v qemu-aarch64 >/dev/null && [[ -d /usr/aarch64-linux-gnu ]] \
            || die "--arm64 needs qemu-user and libc6-arm64-cross (apt-get install qemu-user libc6-arm64-cross)"
        [[ -x "$target/lambda/seats/bootstrap" ]] || die "no arm64 bundle in $target/lambda: run infra/test.sh --package first"
        layout=(--lambda-layout --exec-prefix "qemu-aarch64 -L /usr/aarch64-linux-gnu")
        bin="$target/lambda"
    fi
    if ((BUILD)); then
        say "cargo build --workspace --bins ${flags[*]}"
        (cd "$ROOT" && env -u AWS_ENDPOINT_URL_DYNAMODB -u AWS_ENDPOINT_URL_SQS cargo build --workspace --bins ${flags[@]+"${flags[@]}"} >&2)
    fi

    # --- secrets, into SSM as production keeps them (names: the template's parameter defaults)
    # A stage of its own (unless given): names of resources and parameters never meet another
    # stack's on shared emulators.
    local stage="" p
    for p in ${PARAMS[@]+"${PARAMS[@]}"}; do [[ "$p" == Stage=* ]] && stage="${p#Stage=}"; done
    if [[ -z "$stage" ]]; then
        stage="off$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
        PARAMS+=("Stage=$stage")
    fi
    local top_secret="${BUSGATE_TOP_SECRET:-busgate-demo-top-secret}"
    local sign_key="${BUSGATE_FENBEITONG_SIGN_KEY:-demo-sign-key}"
    local access_token="${BUSGATE_FENBEITONG_ACCESS_TOKEN:-demo-access-token}"
    local -A ssm=(
        ["/busgate/$stage/qimen-app-secret"]="${BUSGATE_QIMEN_SECRET:-busgate-demo-secret}"
        ["/busgate/$stage/top-app-secret"]="$top_secret"
        ["/busgate/$stage/top-session"]="${BUSGATE_TOP_SESSION:-demo-session}"
        ["/busgate/$stage/fenbeitong-tokens"]="${BUSGATE_FENBEITONG_TOKENS:-demo=demo-fenbeitong-token-0001}"
        ["/busgate/$stage/fenbeitong-access-token"]="$access_token"
        ["/busgate/$stage/fenbeitong-sign-key"]="$sign_key"
    )
    for p in ${WITHOUT[@]+"${WITHOUT[@]}"}; do unset "ssm[/busgate/$stage/$p]"; done
    local ssm_args=() k
    for k in "${!ssm[@]}"; do ssm_args+=(--ssm "$k=${ssm[$k]}"); done
    # {fakes}: the fake gateways' base URL, on a port stackd binds itself (one picked here could
    # be taken by another stack before stackd binds it).
    local fakes="{fakes}"
    local tparams=(--param "TopAppKey=12345678" --param "RelationAppName=busgate-offline"
        --param "SecretsExtensionLayerArn=arn:aws:lambda:us-east-1:123456789012:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:1"
        --param "TopGatewayUrl=$fakes/top" --param "FenbeitongApiUrl=$fakes/fenbeitong" --param "CallbackBackoffBaseSecs=1")
    for p in ${PARAMS[@]+"${PARAMS[@]}"}; do tparams+=(--param "$p"); done

    mkdir -p "$STATE/logs"
    # The secrets travel to stackd on its command line only inside this machine; it never prints them.
    setsid nohup "$VENV/bin/python" "$ROOT/infra/stack/stackd.py" --template "$TEMPLATE" --state-dir "$STATE" \
        --bin-dir "$bin" --ddb-endpoint "$DDB" --moto-endpoint "$MOTO" --sweep-every "$SWEEP" \
        --extension-delay-ms "$EXT_DELAY" --top-secret "$top_secret" --fenbeitong-sign-key "$sign_key" \
        --fenbeitong-access-token "$access_token" "${tparams[@]}" "${ssm_args[@]}" ${layout[@]+"${layout[@]}"} \
        >"$STATE/logs/stackd.log" 2>&1 </dev/null &
    echo $! >"$STATE/stackd.pid"
    local pid=$!
    for _ in $(seq 1 600); do
        [[ -f "$STATE/stack.env" ]] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$STATE/logs/stackd.log" >&2
            rm -f "$STATE/stackd.pid"
            die "the stack did not start (log: $STATE/logs/stackd.log)"
        fi
        sleep 0.1
    done
    [[ -f "$STATE/stack.env" ]] || die "the stack was not ready within 60 s (log: $STATE/logs/stackd.log)"
    if ((DEMO)); then
        local demo="$STATE/demo-catalogue.json" cli="$bin/busgate"
        [[ "$PROFILE" == arm64 ]] && cli="$target/debug/busgate"
        (set -a; . "$STATE/stack.env"; set +a
         "$cli" catalogue demo >"$demo"
         "$cli" catalogue import "$demo" --target aws >/dev/null) || die "demo catalogue import failed"
        say "demo catalogue imported"
    fi
    say "up in $(since "$t0") s; logs in $STATE/logs; stop with: infra/stack.sh down --state-dir $STATE"
    cat "$STATE/stack.env"
}

case "$cmd" in
    up) up ;;
    down) down ;;
    -h | --help | help | "") sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (up|down)" ;;
esac
