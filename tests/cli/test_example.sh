#!/bin/bash
# test_example.sh - examples/lenet5.c (the README's API example) builds a model, trains one epoch on
# a slice of Fashion-MNIST, evaluates and saves weights. Usage: test_example.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
EX="$(dirname "$FV")/example_lenet5"
need_fashion_mnist
expect_ok example "$EX" 1 2000 "$TMP/w.safetensors"
check example-summary grep -q "Total params: 61,706" "$TMP/out"
check example-accuracy grep -q "^test accuracy 0\.[5-9]" "$TMP/out"
check example-weights test -s "$TMP/w.safetensors"
finish
