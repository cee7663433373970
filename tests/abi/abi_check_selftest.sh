#!/bin/sh
# The ABI check (scripts/abi compare) on a probe library with a public header, built in variants:
# a parameter type changed, a public struct changed and a function removed must each fail the
# check; a function added must pass. Usage: abi_check_selftest.sh SCRIPTS_ABI CC
set -eu
abi=$1 cc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/api"
# variant NAME PARAM_TYPE STRUCT_EXTRA EXTRA_DECL KEEP_GET: writes the header at the same path for
# every variant (the check counts types by the header that defines them) and builds libNAME.so
variant() {
  cat >"$tmp/api/probe.h" <<H
struct probe_opts { int level; $3 };
int probe_set(struct probe_opts *o, $2 value);
$4
H
  {
    echo '#include "probe.h"'
    echo "int probe_set(struct probe_opts *o, $2 value) { o->level = (int)value; return 0; }"
    [ "$5" = 1 ] && echo 'int probe_get(const struct probe_opts *o) { return o->level; }'
    [ -n "$4" ] && echo 'int probe_new(void) { return 1; }'
  } >"$tmp/$1.c"
  [ "$5" = 1 ] && echo 'int probe_get(const struct probe_opts *o);' >>"$tmp/api/probe.h"
  "$cc" -g -O0 -shared -fPIC -I"$tmp/api" -o "$tmp/lib$1.so" "$tmp/$1.c"
}
variant base int '' '' 1;                          cp "$tmp/libbase.so" "$tmp/base.so"
variant param long '' '' 1;                        cp "$tmp/libparam.so" "$tmp/param.so"
variant struct int 'int extra;' '' 1;              cp "$tmp/libstruct.so" "$tmp/struct.so"
variant removed int '' '' 0;                       cp "$tmp/libremoved.so" "$tmp/removed.so"
variant added int '' 'int probe_new(void);' 1;     cp "$tmp/libadded.so" "$tmp/added.so"
fails=0
expect() {  # expect pass|fail VARIANT
  if "$abi" compare "$tmp/base.so" "$tmp/$2.so" "$tmp/api" >"$tmp/out" 2>&1; then got=pass; else got=fail; fi
  if [ "$got" = "$1" ]; then echo "ok: $2 -> $got"; else
    echo "WRONG: $2 -> $got, expected $1"; cat "$tmp/out"; fails=$((fails + 1)); fi
}
expect fail param
expect fail struct
expect fail removed
expect pass added
[ $fails -eq 0 ]
