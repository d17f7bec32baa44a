#!/bin/bash
# test_cli_isa.sh - the instruction-set override: --isa LEVEL (before or after the command) and
# FOVEA_ISA put a level in force, which fovea --version and fovea bench report with the CPU's best
# level and each kernel family's; an unknown level (flag or environment), a missing value and a
# level this CPU lacks given to --isa fail with one line; FOVEA_ISA clamps the latter to the best
# level below it.
# Usage: test_cli_isa.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
unset FOVEA_ISA
has() { grep -q -- "$1" "$TMP/out"; }
families="gemm generic, winograd generic, eltwise generic, pool generic, gemv generic"
families="$families, depthwise generic, knn generic, qgemm generic"

expect_ok version "$FV" --version
best=$(sed -n 's/^isa: cpu \([a-z0-9_]*\), in force .*/\1/p' "$TMP/out")
check version-best test -n "$best"
check version-in-force has "^isa: cpu $best, in force $best\$"
check version-kernels has "^kernels: gemm [a-z0-9_]*\*\?, winograd"

expect_ok flag-generic "$FV" --isa generic --version
check flag-generic-line has "^isa: cpu $best, in force generic\$"
check flag-generic-kernels has "^kernels: $families\$"
FOVEA_ISA=generic expect_ok env-generic "$FV" --version
check env-generic-line has "in force generic\$"
FOVEA_ISA=nosuch expect_ok flag-over-env "$FV" --isa generic --version
check flag-over-env-line has "in force generic\$"
expect_ok flag-after-command "$FV" summary models/lenet5.fv --isa generic
expect_ok bench "$FV" bench models/lenet5.fv --batch 4 --steps 1 --threads 1 --isa generic
check bench-levels has "^kernels: $families\$"

# Every level either runs (and is the one in force) or fails as one this CPU lacks; the best runs.
for level in generic avx2 avx_vnni avx512 avx512_vnni; do
    if "$FV" --isa $level --version >"$TMP/out" 2>"$TMP/err"; then
        check "runs-$level" has "in force $level\$"
    else
        lacks="ISA level '$level': this CPU lacks it (its best is $best)"
        expect_fail "lacks-$level" "--isa: $lacks" "$FV" --isa $level --version
        FOVEA_ISA=$level expect_ok "env-clamps-$level" "$FV" --version # the best below it
        check "env-clamps-$level-line" has "^isa: cpu $best, in force [a-z0-9_]*\$"
        check "env-clamps-$level-below" test "$(grep -c "in force $level\$" "$TMP/out")" = 0
    fi
done
expect_ok best-runs "$FV" --isa "$best" --version
# No family has VNNI code: at a VNNI level each is starred, running the best level below.
if [ "${best%vnni}" != "$best" ]; then
    check vnni-star has "^kernels: gemm avx[0-9]*\*"
    check vnni-note has "no $best code: the best level below it"
fi

expect_fail unknown "ISA level 'sse9': unknown" "$FV" --isa sse9 --version
FOVEA_ISA=sse9 expect_fail env-unknown "FOVEA_ISA: ISA level 'sse9': unknown" "$FV" summary
expect_fail no-value "option --isa needs a value" "$FV" summary models/lenet5.fv --isa
finish
