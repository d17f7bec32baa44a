#!/bin/bash
# test_cli_valgrind.sh - the CLI's main paths (summary, train with its figures, eval, predict, an error) under
# valgrind: no invalid access, no definite or indirect leak. Skipped in sanitizer builds (ASan and
# valgrind exclude each other) and where valgrind is absent. Usage: test_cli_valgrind.sh FOVEA SRC
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
if [ -n "${FV_SANITIZED:-}" ] || ! command -v valgrind >/dev/null 2>&1; then
    echo "skipped: sanitizer build or no valgrind"
    finish
    exit
fi
VG="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 -q"
VG="$VG --suppressions=$SRC/tests/valgrind.supp" # fontconfig's lifetime cache (figures' text)
expect_ok vg-summary $VG "$FV" summary models/lenet5.fv
printf 'input shape=1,28,28\nconv3d filters=4\n' >"$TMP/unknown.fv"
$VG "$FV" summary "$TMP/unknown.fv" >/dev/null 2>"$TMP/err"
check vg-error-exit test $? -eq 1
if [ -d "${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}" ]; then
    expect_ok vg-train $VG "$FV" train --epochs 1 --limit 200 --out "$TMP/run" --quiet
    expect_ok vg-eval $VG "$FV" eval models/lenet5.fv --weights "$TMP/run/weights.safetensors" \
        --limit 200
    expect_ok vg-predict $VG "$FV" predict models/lenet5.fv \
        --weights "$TMP/run/weights.safetensors" tests/data/fashion_bag.png
fi
finish
