#!/usr/bin/env bash
# A fleet of kv servers behind twemproxy (nutcracker), on one machine, for trying scale-out.
#
#   scripts/fleet.sh start N BASE_PORT DIR [DB_CONFIG]
#     starts N kv servers, each with its own database DIR/kvI.tkh (or DB_CONFIG with {i}
#     standing for the server's number), serving memcached on BASE_PORT+1 ... BASE_PORT+N and
#     gRPC on BASE_PORT+101 ..., writes DIR/nutcracker.yml (consistent hashing: ketama over
#     fnv1a_64) and starts nutcracker listening on BASE_PORT.
#   scripts/fleet.sh stop DIR
#     stops nutcracker and the servers.
set -euo pipefail
KV="$(cd "$(dirname "$0")/.." && pwd)/bin/run.js"

usage() {
  echo "usage: $0 start N BASE_PORT DIR [DB_CONFIG] | $0 stop DIR" >&2
  exit 2
}

stop_fleet() {
  local dir=$1
  for pidfile in "$dir"/nutcracker.pid "$dir"/kv*.pid; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  # kv removes its pid file once it has closed its databases; nutcracker leaves its own.
  for _ in $(seq 1 100); do
    ls "$dir"/kv*.pid >/dev/null 2>&1 || break
    sleep 0.1
  done
  rm -f "$dir"/nutcracker.pid
}

[ $# -ge 1 ] || usage
case "$1" in
  start)
    [ $# -ge 4 ] || usage
    n=$2 base=$3 dir=$4 config=${5:-}
    [[ "$n" =~ ^[1-9][0-9]*$ && "$base" =~ ^[1-9][0-9]*$ ]] || usage
    command -v nutcracker >/dev/null || { echo "nutcracker is not installed (apt-get install nutcracker)" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    {
      echo "kv:"
      echo "  listen: 127.0.0.1:$base"
      echo "  hash: fnv1a_64"
      echo "  distribution: ketama"
      echo "  timeout: 2000"
      echo "  auto_eject_hosts: false"
      echo "  servers:"
    } > "$dir/nutcracker.yml"
    for i in $(seq 1 "$n"); do
      if [ -n "$config" ]; then db=${config//\{i\}/$i}; else db="$dir/kv$i.tkh"; fi
      "$KV" serve --daemon --address "127.0.0.1:$((base + 100 + i))" --memcached "127.0.0.1:$((base + i))" \
        --server_id "$i" --pid_file "$dir/kv$i.pid" --log_file "$dir/kv$i.log" "$db"
      echo "   - 127.0.0.1:$((base + i)):1 kv$i" >> "$dir/nutcracker.yml"
    done
    nutcracker -d -c "$dir/nutcracker.yml" -p "$dir/nutcracker.pid" -o "$dir/nutcracker.log"
    echo "a fleet of $n kv servers behind nutcracker on 127.0.0.1:$base (configuration: $dir/nutcracker.yml)" >&2
    ;;
  stop)
    [ $# -eq 2 ] || usage
    stop_fleet "$2"
    ;;
  *)
    usage
    ;;
esac
