# shellcheck shell=bash
# scripts/lib.sh -- what scripts/check and scripts/demo share. Source it; do not run it.
#   upop_install_packages      apt packages for the build and the test servers (skipped when present)
#   upop_build                 configure (Ninja, warnings fatal) and build into $UPOP_BUILD
#   upop_build_sanitized       the same with ASan+UBSan (everything: library, drivers, tests,
#                              test plugins) into $UPOP_BUILD_ASAN
#   upop_sanitized_ctest ARGS  ctest in $UPOP_BUILD_ASAN with every sanitizer report fatal
#   upop_start_servers         real Dovecot + Postfix in a fresh /tmp dir, env.sh exported;
#                              stopped again by upop_stop_servers or, at the latest, at exit
#   upop_install_sdk PREFIX    cmake --install into PREFIX
#   upop_build_sample PREFIX OUT [SAMPLE.c]   build samples/c/SAMPLE.c (send_mail.c) against the installed SDK only
#   upop_wait_delivery TOKEN [SECONDS]   prints the path of the delivered message containing TOKEN
# Needs Debian 12; apt and the servers need root (sudo is used when not root).

UPOP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UPOP_BUILD=${UPOP_BUILD:-$UPOP_ROOT/build}
UPOP_BUILD_ASAN=${UPOP_BUILD_ASAN:-$UPOP_ROOT/build-asan}
UPOP_SERVERS=$UPOP_ROOT/tests/servers
# What building and testing needs; tests/servers/install.sh adds the mail servers.
# libcurl4-openssl-dev and time (/usr/bin/time) are for bench/run's libcurl client and peak RSS.
# abigail-tools (scripts/abi), lintian (the packages) and doxygen (the docs target) for the release checks.
# libkrb5-dev: GSSAPI (krb5-gssapi.pc) for the AUTH GSSAPI driver.
# mypy for `mypy --strict` over the Python binding and its samples (scripts/check-bindings).
UPOP_BUILD_PACKAGES="build-essential cmake ninja-build pkg-config libmbedtls-dev libkrb5-dev
  nlohmann-json3-dev doctest-dev openssl python3 ccache util-linux
  python3-venv mono-mcs mono-runtime libcurl4-openssl-dev time
  abigail-tools lintian doxygen mypy"
UPOP_SERVER_DIR=""

upop_log() { printf '==> %s\n' "$*"; }

upop_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Exit handlers, run in reverse order of registration (one EXIT trap for everything).
UPOP_ON_EXIT=()
upop_on_exit() { UPOP_ON_EXIT+=("$1"); }
_upop_run_exit_handlers() {
  local i
  for ((i = ${#UPOP_ON_EXIT[@]} - 1; i >= 0; i--)); do eval "${UPOP_ON_EXIT[$i]}" || true; done
  UPOP_ON_EXIT=()
}
trap _upop_run_exit_handlers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

upop_install_packages() {
  # shellcheck disable=SC2086
  upop_as_root "$UPOP_SERVERS/install.sh" $UPOP_BUILD_PACKAGES
}

# ccache (when installed) keeps compiled objects between runs on the same machine, in
# ~/.cache/ccache; a fresh machine simply compiles everything.
_upop_launcher() {
  command -v ccache >/dev/null 2>&1 || return 0
  # paths relative to the checkout, so that another clone on this machine hits the same cache
  export CCACHE_BASEDIR=$UPOP_ROOT CCACHE_NOHASHDIR=1
  echo "-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
}

upop_build() {
  local launcher
  launcher=$(_upop_launcher)
  # shellcheck disable=SC2086
  cmake -S "$UPOP_ROOT" -B "$UPOP_BUILD" -G Ninja -DUPOPMAIL_WERROR=ON $launcher &&
    cmake --build "$UPOP_BUILD" -j2
}

# The sanitizer build is compiled with -Og instead of -O2: with a cold ccache it built in 289 s
# instead of 610 s, and its offline tests took 158 s instead of 142 s (2 cores, measured
# 2026-12-07 with CCACHE_DISABLE=1 on a fresh clone).
upop_build_sanitized() {
  local launcher
  launcher=$(_upop_launcher)
  # shellcheck disable=SC2086
  cmake -S "$UPOP_ROOT" -B "$UPOP_BUILD_ASAN" -G Ninja -DUPOPMAIL_WERROR=ON -DUPOPMAIL_SANITIZE=ON \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-Og -g -DNDEBUG" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-Og -g -DNDEBUG" \
    $launcher && cmake --build "$UPOP_BUILD_ASAN" -j2
}

# Every report fails the test that produced it: ASan (with leak detection) aborts with an error
# exit, UBSan does not recover (-fno-sanitize-recover=all), and both print a stack.
upop_sanitized_ctest() {
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=print_suppressions=0 \
    ctest --test-dir "$UPOP_BUILD_ASAN" --output-on-failure "$@"
}

# The port layout: start.sh's defaults (24110, 24587, ...) first; when a port is taken (another
# checkout's servers on the same machine), a block of 15 consecutive ports from 24600-24994.
_upop_port_layout() {  # _upop_port_layout BASE -> PORT_*=... assignments
  local b=$1
  echo "PORT_POP3=$b PORT_POP3S=$((b + 1)) PORT_SUBMISSION=$((b + 2))" \
    "PORT_SUBMISSIONS=$((b + 3)) PORT_LMTP=$((b + 4)) PORT_STRICT_POP3=$((b + 5))" \
    "PORT_STRICT_SUBMISSION=$((b + 6)) PORT_BAD_POP3=$((b + 7)) PORT_BAD_POP3S=$((b + 8))" \
    "PORT_BAD_SUBMISSION=$((b + 9)) PORT_RELAY=$((b + 10)) PORT_PF_SMTP=$((b + 11))" \
    "PORT_PF_SUBMISSION=$((b + 12)) PORT_PF_SMTPS=$((b + 13)) PORT_KDC=$((b + 14))"
}

upop_start_servers() {
  UPOP_SERVER_DIR=$(mktemp -d /tmp/upop.XXXXXX) || return 1
  upop_on_exit upop_stop_servers
  local base out rc layout
  for base in default $(seq 24600 20 24980); do
    layout=""
    [ "$base" = default ] || layout=$(_upop_port_layout "$base")
    # start.sh gives its daemons their own stdio, so capturing its output cannot hang
    rc=0
    # shellcheck disable=SC2086
    out=$(upop_as_root env $layout "$UPOP_SERVERS/start.sh" "$UPOP_SERVER_DIR" 2>&1) || rc=$?
    printf '%s\n' "$out"
    [ $rc -eq 0 ] && break
    case $out in
      *"already in use"*) echo "(trying another block of ports)" ;;
      *) return 1 ;;
    esac
  done
  [ $rc -eq 0 ] || return 1
  # every variable of env.sh goes to the tests (MAILTEST_*, PORT_*)
  set -a
  # shellcheck disable=SC1091
  . "$UPOP_SERVER_DIR/env.sh"
  set +a
}

# Stops the servers (by the PIDs recorded in their dir) and removes the dir, unless
# UPOP_KEEP_SERVER_DIR=1 or something is still running. Idempotent.
upop_stop_servers() {
  [ -n "$UPOP_SERVER_DIR" ] || return 0
  local dir=$UPOP_SERVER_DIR
  UPOP_SERVER_DIR=""
  if upop_as_root "$UPOP_SERVERS/stop.sh" "$dir"; then
    if [ "${UPOP_KEEP_SERVER_DIR:-0}" = 1 ]; then
      echo "server state and logs kept in $dir"
    else
      upop_as_root rm -rf "$dir"
    fi
  else
    echo "stop.sh failed; state left in $dir" >&2
    return 1
  fi
}

# The last lines of every server log, for a failure report.
upop_server_logs() {
  [ -n "$UPOP_SERVER_DIR" ] || return 0
  local f
  for f in "$UPOP_SERVER_DIR"/log/*.log; do
    [ -s "$f" ] || continue
    echo "--- tail of $f"
    tail -n 15 "$f"
  done
}

upop_install_sdk() {
  cmake --install "$UPOP_BUILD" --prefix "$1" >/dev/null
}

upop_build_sample() {  # upop_build_sample PREFIX OUT [SAMPLE.c, default send_mail.c]
  # Deliberately nothing from the source tree but the sample itself: the installed SDK only.
  cc -I"$1/include" "$UPOP_ROOT/samples/c/${3:-send_mail.c}" -L"$1/lib" -lupopmail \
    -Wl,-rpath,"$1/lib" -o "$2"
}

# upop_wait_delivery TOKEN [SECONDS]: polls the test mailbox (new/ and cur/) until a message
# containing TOKEN is there and prints its path; fails after SECONDS (default 20).
upop_wait_delivery() {
  local token=$1 limit=${2:-20} deadline f
  deadline=$(($(date +%s) + limit))
  while :; do
    for f in "$MAILTEST_MAILDIR"/new/* "$MAILTEST_MAILDIR"/cur/*; do
      [ -f "$f" ] && grep -qF -- "$token" "$f" && { echo "$f"; return 0; }
    done
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.1
  done
  echo "no message containing $token in $MAILTEST_MAILDIR after ${limit}s" >&2
  return 1
}

# A token unique to this run, for finding our message in the mailbox.
upop_token() { printf 'upop-%s-%s-%s' "$(date +%s%N)" "$$" "$RANDOM"; }
