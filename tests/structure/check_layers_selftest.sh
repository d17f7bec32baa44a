#!/bin/sh
# check_layers_selftest.sh - check_layers.sh fails where it must: on the real objects with a
# declared order that an edge goes up (core drawn above ops), with a folder left out, and with a
# picture in docs/DESIGN.md that disagrees; and passes on the real files.
# Usage: check_layers_selftest.sh LAYERS_TXT DESIGN_MD OBJECTS (as check_layers.sh)
set -u
here=$(dirname "$0")
layers=$1
design=$2
objs=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
# expect_fail NAME NEEDLE LAYERS DESIGN: the check exits non-zero and prints NEEDLE
expect_fail() {
    if sh "$here/check_layers.sh" "$3" "$4" "$objs" >"$tmp/out" 2>&1; then
        echo "FAIL $1: the check passed"; fails=1
    elif ! grep -q -- "$2" "$tmp/out"; then
        echo "FAIL $1: no '$2' in:"; cat "$tmp/out"; fails=1
    else
        echo "ok $1"
    fi
}
# core moved to the top line: every op's fv_param_declare call now goes up
{ echo core; grep -v '^core$' "$layers"; } >"$tmp/up.txt"
expect_fail upward "uses fv_param_declare from src/core/params.c: core is not below ops" \
    "$tmp/up.txt" "$design"
sed 's/ viz$//; s/^viz //' "$layers" >"$tmp/noviz.txt"
expect_fail undeclared "FAIL: src/viz/ (viz/" "$tmp/noviz.txt" "$design"
awk '/^src\/core\// { next } { print } /^tools\/cli\// { print "src/core/    moved up" }' \
    "$design" >"$tmp/design.md"
expect_fail picture "draws src/detect/ under src/core/" "$layers" "$tmp/design.md"
if sh "$here/check_layers.sh" "$layers" "$design" "$objs" >"$tmp/out" 2>&1; then
    echo "ok real"
else
    echo "FAIL real:"; cat "$tmp/out"; fails=1
fi
exit $fails
