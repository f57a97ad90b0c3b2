#!/usr/bin/env bash
# A local Redis for the arena's live event stream (arena/live, GET /runs/{id}/events).
#
#   scripts/redis.sh start    start redis-server daemonized on 127.0.0.1:$REDIS_PORT (idempotent)
#   scripts/redis.sh stop     shut it down (SHUTDOWN NOSAVE, then the pid if it lingers)
#   scripts/redis.sh status   exit 0 when it answers PING, 1 otherwise
#
# Environment:
#   REDIS_PORT       TCP port (default 6379); the server listens on 127.0.0.1 only
#   ARENA_CACHE      cache folder (default <repo>/.cache); pid, log and working dir go to
#                    $ARENA_CACHE/redis-$REDIS_PORT/
#   REDIS_MAXMEMORY  memory cap (default 256mb); past it the least recently used streams are
#                    evicted (allkeys-lru): live events are a cache, the store is the record
#
# No persistence (--save '' --appendonly no): the audit store holds every event for good.
# Uses Debian's redis-server; when it is missing and this runs as root it is installed with
# apt-get, otherwise the script stops with a message saying how to install it.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${REDIS_PORT:-6379}"
CACHE="${ARENA_CACHE:-$REPO/.cache}"
DIR="$CACHE/redis-$PORT"
PIDFILE="$DIR/redis.pid"
LOGFILE="$DIR/redis.log"
MAXMEMORY="${REDIS_MAXMEMORY:-256mb}"
WAIT_S=10

die() {
    echo "redis.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: scripts/redis.sh start|stop|status   (REDIS_PORT=$PORT, ARENA_CACHE=$CACHE)" >&2
    exit 2
}

[[ "$PORT" =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "REDIS_PORT must be a TCP port 1..65535, got '$PORT'"

ensure_installed() {
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        return
    fi
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        die "redis-server is not installed; install it (Debian/Ubuntu: sudo apt-get install -y redis-server) and retry"
    fi
    echo "redis.sh: installing redis-server with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q redis-server >&2 || { apt-get update -q >&2 && apt-get install -y -q redis-server >&2; } ||
        die "apt-get could not install redis-server"
}

answers() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" == "PONG" ]]
}

pid_alive() {
    [[ -s "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

start() {
    ensure_installed
    if answers; then
        echo "redis already running on 127.0.0.1:$PORT"
        return 0
    fi
    mkdir -p "$DIR"
    rm -f "$PIDFILE"
    redis-server --bind 127.0.0.1 --port "$PORT" --daemonize yes \
        --pidfile "$PIDFILE" --logfile "$LOGFILE" --dir "$DIR" \
        --save '' --appendonly no \
        --maxmemory "$MAXMEMORY" --maxmemory-policy allkeys-lru ||
        die "redis-server failed to start on 127.0.0.1:$PORT; see $LOGFILE"
    local deadline=$((SECONDS + WAIT_S))
    until answers; do
        if ((SECONDS >= deadline)); then
            tail -n 20 "$LOGFILE" >&2 2>/dev/null || true
            die "redis on 127.0.0.1:$PORT did not answer PING within ${WAIT_S}s; log: $LOGFILE"
        fi
        sleep 0.1
    done
    echo "redis running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE" 2>/dev/null || echo '?'), log $LOGFILE)"
}

stop() {
    if ! answers && ! pid_alive; then
        echo "redis not running on 127.0.0.1:$PORT"
        rm -f "$PIDFILE"
        return 0
    fi
    # the connection drops as the server exits, so redis-cli's own status says nothing
    redis-cli -h 127.0.0.1 -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    local deadline=$((SECONDS + WAIT_S))
    while answers || pid_alive; do
        if ((SECONDS >= deadline)); then
            if pid_alive; then
                kill "$(cat "$PIDFILE")" 2>/dev/null || true
                sleep 0.5
                pid_alive && kill -9 "$(cat "$PIDFILE")" 2>/dev/null || true
            fi
            break
        fi
        sleep 0.1
    done
    answers && die "redis on 127.0.0.1:$PORT is still answering (not started by this script? no pid in $PIDFILE)"
    rm -f "$PIDFILE"
    echo "redis stopped on 127.0.0.1:$PORT"
}

status() {
    if answers; then
        echo "redis running on 127.0.0.1:$PORT"
        return 0
    fi
    echo "redis not running on 127.0.0.1:$PORT"
    return 1
}

[[ $# -eq 1 ]] || usage
case "$1" in
start) start ;;
stop) stop ;;
status) status ;;
*) usage ;;
esac
