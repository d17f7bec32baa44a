#!/bin/bash
# test_cli_probs.sh - a model file that ends in a softmax (Keras' habit) trained with the CLI's
# softmax cross-entropy: the loss reads the logits and the metrics read the probabilities once,
# so the test loss and the metrics' log-loss are the same number (a second softmax would flatten
# the probabilities: a log-loss near ln 10 and a large ECE).
# Usage: test_cli_probs.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
printf '%s\n' 'input shape=1,28,28' flatten 'dense units=64 activation=relu' \
    'dense units=10 activation=softmax' >"$TMP/soft.fv"
# "Test accuracy: A (loss L, ...)" and "... log-loss L, ECE E" agree to the printed digits
same_loss() {
    loss=$(sed -n 's/^Test accuracy: [0-9.]* (loss \([0-9.]*\),.*/\1/p' "$TMP/out")
    logloss=$(sed -n 's/.*log-loss \([0-9.]*\), ECE.*/\1/p' "$TMP/out")
    [ -n "$loss" ] && [ "$loss" = "$logloss" ] && awk -v l="$loss" 'BEGIN { exit !(l < 1.2) }'
}
expect_ok train "$FV" train "$TMP/soft.fv" --epochs 2 --limit 1000 --out "$TMP/run" --seed 1
check train-logloss-is-loss same_loss
expect_ok eval "$FV" eval "$TMP/soft.fv" --weights "$TMP/run/weights.safetensors" --limit 1000 \
    --out "$TMP/ev"
check eval-logloss-is-loss same_loss
check eval-ece sh -c "sed -n 's/.*ECE \([0-9.]*\)$/\1/p' '$TMP/out' | awk '{ exit !(\$1 < 0.1) }'"
finish
