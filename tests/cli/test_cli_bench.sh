#!/bin/bash
# test_cli_bench.sh - fovea bench: a model file and a zoo network report training and prediction
# images/s and peak memory (positive numbers; no timing threshold), bad input fails with one line.
# Usage: test_cli_bench.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
positive() { # positive LABEL: the number after LABEL in the output is > 0
    awk -v l="$1" '$1 == l {found = 1; ok = $2 + 0 > 0} END {exit !(found && ok)}' "$TMP/out"
}
expect_ok bench-file "$FV" bench models/lenet5.fv --batch 8 --steps 3 --threads 1
check bench-header grep -q "^model models/lenet5.fv, batch 8, 1 thread, median of 3 steps" "$TMP/out"
check bench-train positive train
check bench-predict positive predict
check bench-rss awk '$1 == "peak" && $2 == "RSS" && $3 + 0 > 1 {ok = 1} END {exit !ok}' "$TMP/out"
expect_ok bench-zoo "$FV" bench resnet20 --batch 2 --steps 1 --input 3,16,16 --threads 2
check bench-zoo-train positive train
expect_fail bench-unknown "unknown architecture 'nosuch'" "$FV" bench nosuch
expect_fail bench-steps "--steps" "$FV" bench lenet5 --steps 0
finish
