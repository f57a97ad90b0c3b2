#!/usr/bin/env bash
# Run a local QuestDB server for model-arena: scripts/questdb.sh start|stop|status
#
# start   fetch the pinned server jar from Maven Central (SHA-1 checked against Maven's
#         .sha1 file) into $CACHE/questdb/, write a server.conf into the data directory
#         and start the server in the background; waits (up to QDB_START_TIMEOUT_S, 60 s)
#         until the HTTP endpoint answers `select 1`. Idempotent: already running -> ok.
# stop    SIGTERM, wait up to 20 s, then SIGKILL.
# status  prints "running (pid N, ...)" and exits 0, or "stopped" and exits 1.
#
# Environment (defaults in brackets); a second instance needs its own ports and QDB_ROOT:
#   ARENA_CACHE        cache folder [<repo>/.cache]
#   QDB_ROOT           data directory [$CACHE/questdb/root]
#   QDB_HTTP_PORT      HTTP / REST / ILP over HTTP [9000]
#   QDB_PG_PORT        PostgreSQL wire [8812]
#   QDB_ILP_PORT       ILP over TCP [9009]
#   QDB_HTTP_MIN_PORT  minimal HTTP server (health) [9003]
#   QDB_HEAP           JVM heap limit [1g]
#   QDB_WORKERS        shared worker threads [2]
#   QDB_START_TIMEOUT_S  seconds start waits for the server [60]
# Every port is bound to 127.0.0.1; telemetry is off.
set -euo pipefail

QDB_VERSION="9.3.4"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ARENA_CACHE:-$REPO/.cache}"
JAR_DIR="$CACHE/questdb"
JAR="$JAR_DIR/questdb-$QDB_VERSION.jar"
JAR_URL="https://repo1.maven.org/maven2/org/questdb/questdb/$QDB_VERSION/questdb-$QDB_VERSION.jar"
QDB_ROOT="${QDB_ROOT:-$JAR_DIR/root}"
QDB_HTTP_PORT="${QDB_HTTP_PORT:-9000}"
QDB_PG_PORT="${QDB_PG_PORT:-8812}"
QDB_ILP_PORT="${QDB_ILP_PORT:-9009}"
QDB_HTTP_MIN_PORT="${QDB_HTTP_MIN_PORT:-9003}"
QDB_HEAP="${QDB_HEAP:-1g}"
QDB_WORKERS="${QDB_WORKERS:-2}"
QDB_START_TIMEOUT_S="${QDB_START_TIMEOUT_S:-60}"
PID_FILE="$QDB_ROOT/questdb.pid"
LOG_FILE="$QDB_ROOT/questdb.log"
JAVA="${JAVA:-java}"

die() { echo "questdb.sh: $*" >&2; exit 1; }

fetch_jar() {
    [[ -f "$JAR" ]] && return 0
    mkdir -p "$JAR_DIR"
    local tmp="$JAR.part"
    echo "questdb.sh: downloading $JAR_URL"
    curl -fsSL --retry 3 -o "$tmp" "$JAR_URL" || die "download of $JAR_URL failed"
    local want have
    want="$(curl -fsSL --retry 3 "$JAR_URL.sha1" | tr -d '[:space:]' | cut -c1-40)" \
        || die "download of $JAR_URL.sha1 failed"
    have="$(sha1sum "$tmp" | cut -d' ' -f1)"
    if [[ "$want" != "$have" ]]; then
        rm -f "$tmp"
        die "SHA-1 mismatch for $JAR_URL: Maven says $want, download has $have"
    fi
    mv "$tmp" "$JAR"
}

write_conf() {
    mkdir -p "$QDB_ROOT/conf"
    cat >"$QDB_ROOT/conf/server.conf" <<EOF
# written by scripts/questdb.sh; rewritten on every start
http.bind.to=127.0.0.1:$QDB_HTTP_PORT
http.min.net.bind.to=127.0.0.1:$QDB_HTTP_MIN_PORT
pg.net.bind.to=127.0.0.1:$QDB_PG_PORT
line.tcp.net.bind.to=127.0.0.1:$QDB_ILP_PORT
line.udp.enabled=false
telemetry.enabled=false
shared.worker.count=$QDB_WORKERS
http.worker.count=1
pg.worker.count=1
wal.apply.worker.count=1
line.tcp.writer.worker.count=1
line.tcp.io.worker.count=1
EOF
}

running_pid() {
    # prints the pid and succeeds when the pid file names a live QuestDB of this root
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "io.questdb.ServerMain" || return 1
    echo "$pid"
}

answers() {
    curl -fsS -m 2 "http://127.0.0.1:$QDB_HTTP_PORT/exec?query=select%201" >/dev/null 2>&1
}

start() {
    local pid
    if pid="$(running_pid)"; then
        if answers; then
            echo "questdb.sh: already running (pid $pid, http 127.0.0.1:$QDB_HTTP_PORT, root $QDB_ROOT)"
            return 0
        fi
    else
        command -v "$JAVA" >/dev/null || die "java not found (QuestDB $QDB_VERSION needs Java 17+)"
        fetch_jar
        write_conf
        # -d: the data (root) directory; --add-exports: QuestDB uses jdk.internal.math
        nohup "$JAVA" \
            -Xms128m "-Xmx$QDB_HEAP" -XX:+UseParallelGC \
            --add-exports java.base/jdk.internal.math=io.questdb \
            -p "$JAR" -m io.questdb/io.questdb.ServerMain \
            -d "$QDB_ROOT" >"$LOG_FILE" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$PID_FILE"
    fi
    local deadline=$((SECONDS + QDB_START_TIMEOUT_S))
    while ((SECONDS < deadline)); do
        if answers; then
            echo "questdb.sh: started (pid $pid, http 127.0.0.1:$QDB_HTTP_PORT, pg $QDB_PG_PORT, root $QDB_ROOT)"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "questdb.sh: QuestDB exited during start-up; log tail ($LOG_FILE):" >&2
            tail -n 40 "$LOG_FILE" >&2 || true
            rm -f "$PID_FILE"
            exit 1
        fi
        sleep 0.5
    done
    echo "questdb.sh: QuestDB did not answer on http://127.0.0.1:$QDB_HTTP_PORT within" \
        "${QDB_START_TIMEOUT_S}s; log tail ($LOG_FILE):" >&2
    tail -n 40 "$LOG_FILE" >&2 || true
    exit 1
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        echo "questdb.sh: not running (root $QDB_ROOT)"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "questdb.sh: pid $pid ignored SIGTERM for 20 s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$PID_FILE"
    echo "questdb.sh: stopped (pid $pid)"
}

status() {
    local pid
    if pid="$(running_pid)"; then
        echo "running (pid $pid, http 127.0.0.1:$QDB_HTTP_PORT, root $QDB_ROOT)"
        return 0
    fi
    echo "stopped (root $QDB_ROOT)"
    return 1
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status" ;;
esac
