#!/bin/bash
# stop.sh DIR -- stop the servers started by "start.sh DIR".
# Signals only the PIDs recorded under DIR (never by process name), then
# reaps leftovers that are still in those daemons' sessions.
# Exit status 0 when nothing of ours is left running.
set -uo pipefail
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
[ $# -eq 1 ] || { echo "usage: stop.sh DIR" >&2; exit 2; }
[ -d "$1" ] || { echo "stop.sh: no such directory: $1" >&2; exit 0; }
DIR=$(cd "$1" && pwd)

# ours PID: the pid file's process really belongs to this DIR
ours() {
  local pid=$1 cmd cwd
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null)
  case "$cmd" in
    *"dovecot -c $DIR/etc/"*) return 0 ;;                 # dovecot master
    */postfix/sbin/master*) [ "$cwd" = "$DIR/postfix/queue" ] && return 0 ;;
    *"krb5kdc "*"-P $DIR/run/krb5kdc.pid"*) return 0 ;;       # Kerberos KDC
  esac
  return 1
}

sid_of() {  # session id = 6th field of /proc/PID/stat (comm has no spaces here)
  local a
  read -r -a a < "/proc/$1/stat" 2>/dev/null || return 1
  echo "${a[5]}"
}

pids=()
for f in "$DIR"/run/main/master.pid "$DIR"/run/strict/master.pid \
         "$DIR"/run/badcert/master.pid "$DIR"/postfix/queue/pid/master.pid \
         "$DIR"/run/krb5kdc.pid; do
  [ -s "$f" ] || continue
  pid=$(head -n1 "$f" | tr -d ' ')
  if ours "$pid"; then pids+=("$pid"); fi
done

# session ids of the daemons (dovecot and postfix masters and krb5kdc call setsid())
# -- used to find their children
sids=()
for pid in "${pids[@]}"; do
  sid=$(sid_of "$pid") && [ "$sid" = "$pid" ] && sids+=("$sid")
done

for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done

# wait up to 5 s for the masters
for _ in $(seq 1 50); do
  alive=0
  for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && alive=1; done
  [ $alive -eq 0 ] && break
  sleep 0.1
done

leftovers() {  # PIDs whose session is one of ours (one pass over /proc)
  # /proc/PID/stat: "pid (comm) state ppid pgrp session ..."; comm may
  # contain spaces, so split after the last ')'
  local re
  re=$(IFS='|'; echo "${sids[*]}")
  cat /proc/[0-9]*/stat 2>/dev/null |
    sed -nE 's/^([0-9]+) .*\) [A-Za-z] -?[0-9]+ -?[0-9]+ (-?[0-9]+) .*/\1 \2/p' |
    awk -v re="^($re)\$" '$2 ~ re {print $1}'
}
if [ ${#sids[@]} -gt 0 ]; then
  for sig in TERM KILL; do
    left=$(leftovers)
    [ -z "$left" ] && break
    for p in $left; do kill -"$sig" "$p" 2>/dev/null; done
    sleep 0.3
  done
fi
for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null; done

left=""
[ ${#sids[@]} -gt 0 ] && left=$(leftovers)
if [ -n "$left" ]; then
  echo "stop.sh: still running: $left" >&2
  exit 1
fi
echo "stop.sh: stopped ${#pids[@]} daemon(s) in $DIR"
