#!/bin/bash
# test_cli_resume.sh - a training run killed with SIGKILL after its first checkpoint and resumed
# with --resume ends with the same weights, byte for byte, as an uninterrupted run.
# Usage: test_cli_resume.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
ARGS="models/lenet5.fv --epochs 4 --limit 4000 --seed 3 --threads 2 --quiet"
expect_ok whole "$FV" train $ARGS --out "$TMP/a"
"$FV" train $ARGS --out "$TMP/b" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do # wait for the first checkpoint, then kill the run where it stands
    [ -e "$TMP/b/last.safetensors" ] && break
    sleep 0.02
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
check killed-with-checkpoint test -e "$TMP/b/last.safetensors"
expect_ok resume "$FV" train $ARGS --out "$TMP/b" --resume
check same-weights cmp -s "$TMP/a/weights.safetensors" "$TMP/b/weights.safetensors"
check same-metrics sh -c "cut -d, -f1-5,8 '$TMP/a/metrics.csv' > '$TMP/ma'; \
    cut -d, -f1-5,8 '$TMP/b/metrics.csv' > '$TMP/mb'; cmp -s '$TMP/ma' '$TMP/mb'"
check best-checkpoint test -s "$TMP/a/best.safetensors"
finish
