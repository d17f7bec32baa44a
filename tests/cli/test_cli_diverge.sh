#!/bin/bash
# test_cli_diverge.sh - divergence (issue 16): Adam at --lr 1e6 stops with "training diverged at
# epoch E, batch B", exits 1 and writes no weights; a run that trained a good epoch and resumes
# with --resume --lr 1e6 (the given rate wins over the checkpoint's) diverges in epoch 2 and
# leaves the checkpoints of epoch 1 byte for byte, loadable by eval.
# Usage: test_cli_diverge.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
ARGS="models/lenet5.fv --limit 512 --seed 3 --threads 2 --quiet"
# from scratch: no good epoch, nothing written but the folder
expect_fail scratch "training diverged at epoch 1, batch [0-9]*: loss" \
    "$FV" train $ARGS --epochs 3 --lr 1e6 --out "$TMP/a"
check scratch-no-weights test ! -e "$TMP/a/weights.safetensors"
check scratch-no-checkpoint test ! -e "$TMP/a/last.safetensors"
# a good epoch, then a resume at a diverging rate
expect_ok good-epoch "$FV" train $ARGS --epochs 1 --out "$TMP/b"
cp "$TMP/b/last.safetensors" "$TMP/last.good"
cp "$TMP/b/best.safetensors" "$TMP/best.good"
rm "$TMP/b/weights.safetensors"
expect_fail resume-diverges "training diverged at epoch 2, batch [0-9]*: loss" \
    "$FV" train $ARGS --epochs 3 --lr 1e6 --resume --out "$TMP/b"
check resume-no-weights test ! -e "$TMP/b/weights.safetensors"
check last-intact cmp -s "$TMP/b/last.safetensors" "$TMP/last.good"
check best-intact cmp -s "$TMP/b/best.safetensors" "$TMP/best.good"
check no-temporaries sh -c "! ls '$TMP/b' | grep -q '\.tmp\.'"
expect_ok eval-last "$FV" eval models/lenet5.fv --weights "$TMP/b/last.safetensors" --limit 256 \
    --out "$TMP/e"
check eval-accuracy grep -qi "accuracy" "$TMP/out"
finish
