#!/usr/bin/env bash
# bench/memory.sh BUILD_DIR [SIZE_MB] — peak resident memory of sending one message with a
# SIZE_MB attachment (default 50) through the test Dovecot (STARTTLS + AUTH PLAIN), measured
# with /usr/bin/time -v for upopmail (bench/send_large) and for Python's smtplib in the same run.
# Needs the servers of tests/servers/start.sh and their env.sh exported (MAILTEST_*, PORT_*).
# Prints both figures and their ratio; it is a measurement, not a test.
set -euo pipefail
build=${1:?usage: bench/memory.sh BUILD_DIR [SIZE_MB]}
size=${2:-50}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/upop-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
head -c "$((size * 1000 * 1000))" /dev/urandom > "$work/attachment.bin"
cc -O2 -I"$here/../api" "$here/send_large.c" -L"$build/core" -lupopmail -Wl,-rpath,"$build/core" -o "$work/send_large"
args=(localhost "$PORT_SUBMISSION" "$MAILTEST_USER" "$MAILTEST_PASS" "$MAILTEST_CA" "$MAILTEST_ADDR" "$MAILTEST_ADDR" "$work/attachment.bin")
peak() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
/usr/bin/time -v "$work/send_large" "${args[@]}" 2> "$work/upop.time" || { cat "$work/upop.time"; exit 1; }
/usr/bin/time -v python3 "$here/peer_smtplib.py" "${args[@]}" 2> "$work/py.time" || { cat "$work/py.time"; exit 1; }
u=$(peak "$work/upop.time"); p=$(peak "$work/py.time")
ut=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/upop.time")
pt=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/py.time")
echo "attachment: ${size} MB"
echo "upopmail (bench/send_large): peak RSS ${u} KB, wall ${ut}"
echo "python smtplib (peer):        peak RSS ${p} KB, wall ${pt}"
awk -v u="$u" -v p="$p" 'BEGIN { printf "ratio peer/upopmail peak RSS: %.1fx\n", p / u }'
