#!/bin/bash
# test_onnx_export.sh - `fovea export`: its usage and errors (one line each: no --onnx, a bad
# opset, layers ONNX cannot express), the file it writes, and tests/onnx/check_export.py over
# every zoo network, every models/*.fv and the op test models at opsets 13 and 17 (onnx.checker
# with full_check; ONNX Runtime's outputs against fovea's where scripts/get-onnxruntime.sh has
# fetched it). Skips that part when Debian's python3-onnx is absent. By default (in CI) a set
# that covers every op family (the VGG and deep ResNet variants repeat their smaller siblings'
# ops and took 30 of the 40 minutes); FV_ONNX_NETWORKS=all checks every model, FV_ONNX_NETWORKS="a b"
# those models (by zoo name or file name).
# Usage: test_onnx_export.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$TMP"

check usage sh -c "'$FV' export --help | grep -q -- '--onnx OUT.onnx'"
expect_fail no-onnx "export needs --onnx" "$FV" export lenet5
expect_fail bad-opset "option --opset: bad value '12'" "$FV" export lenet5 --onnx a.onnx --opset 12
expect_fail unknown-net "zoo" "$FV" export no_such_net --onnx a.onnx
printf '%s\n' 'input shape=2,8,8' 'fractional_maxpool2d output_size=5' >frac.fv
expect_fail fracpool "layer 'fractional_maxpool2d1' (fractional_maxpool2d)" \
    "$FV" export frac.fv --onnx a.onnx
printf '%s\n' 'input shape=4,8,8' 'lrn size=4 name=even' >lrn.fv
expect_fail even-lrn "layer 'even' (lrn): LRN with an even window" "$FV" export lrn.fv --onnx a.onnx
printf '%s\n' 'input shape=2,8,8' 'maxpool2d name=p' 'maxunpool2d inputs=p,p name=u' >unpool.fv
expect_fail maxunpool "layer 'u' (maxunpool2d)" "$FV" export unpool.fv --onnx a.onnx
check no-partial-file test ! -e a.onnx
expect_ok lenet5 "$FV" export lenet5 --onnx lenet5.onnx --opset 17 --sample s
check onnx-file test -s lenet5.onnx
check sample-files test -s s/input.npy -a -s s/expected.npy

nets=${FV_ONNX_NETWORKS:-lenet5 alexnet_bn zfnet vgg_a_lrn googlenet inception_v3 resnet18_cifar \
resnet20 mobilenet_v1 mobilenet_v2 nasnet_mobile keras_cnn.fv keras_cnn_fashion.fv lenet5.fv \
mlp_regression.fv ops_all.fv}
[ "$nets" = all ] && nets=
if ! /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null; then
    echo "skipped: the onnx.checker part (Debian's python3-onnx is not installed)"
else
    # shellcheck disable=SC2086
    expect_ok check-export /usr/bin/python3 "$SRC/tests/onnx/check_export.py" "$FV" "$SRC" \
        "$TMP/check" $nets
    cat "$TMP/out"
    grep FAIL "$TMP/out" >&2
fi
finish
