#!/bin/bash
# test_cli_torch_pt.sh - PyTorch checkpoints from the CLI: --weights takes a torch.save file
# (tests/data/torch_pt/lenet5.pt, models/lenet5.fv's parameters) in predict, and, with
# Fashion-MNIST, in train (the load report) and eval, the file opened once for its metadata and
# its weights (checked with strace where it runs); hostile and legacy files are one-line
# errors. Where /usr/bin/python3 has torch and torchvision, the acceptance test: torchvision's
# ResNet-18 state dict (random init, seed 0, ~45 MB, generated here) loads into the zoo's
# resnet18 and gives torchvision's logits (test_torch_pt --resnet, beside the CLI).
# Usage: test_cli_torch_pt.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
PT=tests/data/torch_pt
expect_ok predict-pt "$FV" predict models/lenet5.fv --weights $PT/lenet5.pt tests/data/mnist_7.png
check predict-top3 grep -q "^tests/data/mnist_7.png: class [0-9] 0\.[0-9]*, class" "$TMP/out"
# one open of the .pt serves its metadata and its weights (strace, where it can trace)
if command -v strace >/dev/null && strace -f -o "$TMP/tr" -e trace=openat true 2>/dev/null; then
    # LeakSanitizer cannot run under ptrace: leaks are checked by the untraced runs
    expect_ok predict-pt-traced env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -o "$TMP/tr" -e trace=openat "$FV" predict \
        models/lenet5.fv --weights $PT/lenet5.pt tests/data/mnist_7.png
    check predict-pt-opened-once test "$(grep -c 'lenet5\.pt' "$TMP/tr")" -eq 1
fi
expect_fail pt-forbidden-global "pickle GLOBAL 'os.system' at byte 2 is not allowed" \
    "$FV" predict models/lenet5.fv --weights $PT/bad_global.pt tests/data/mnist_7.png
expect_fail pt-legacy "legacy torch.save format: re-save with" \
    "$FV" predict models/lenet5.fv --weights $PT/legacy.pt tests/data/mnist_7.png
expect_fail pt-truncated "not a readable zip archive" \
    "$FV" predict models/lenet5.fv --weights $PT/truncated.pt tests/data/mnist_7.png
expect_fail pt-other-architecture "tensor 'conv1.weight' has shape (4, 3, 3, 3), the model expects" \
    "$FV" predict models/lenet5.fv --weights $PT/tiny_f32.pt tests/data/mnist_7.png

if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null; then
    expect_ok resnet18-generate /usr/bin/python3 tests/golden/gen_torch_pt.py --resnet "$TMP/r"
    expect_ok resnet18-logits "$(dirname "$FV")/test_torch_pt" --resnet "$TMP/r"
    cat "$TMP/out"
else
    echo "skipped: the ResNet-18 acceptance test needs /usr/bin/python3 with torch and torchvision"
fi

if [ -d "${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}" ]; then
    expect_ok train-from-pt "$FV" train models/lenet5.fv --weights $PT/lenet5.pt --epochs 1 \
        --limit 500 --out "$TMP/t" --seed 1
    check pt-load-report grep -q "^Weights from .*lenet5.pt: 10 of 10 parameter tensors loaded" \
        "$TMP/out"
    expect_ok eval-pt "$FV" eval models/lenet5.fv --weights $PT/lenet5.pt --limit 500 \
        --out "$TMP/ev"
    check eval-accuracy grep -q "^Test accuracy" "$TMP/out"
else
    echo "skipped: train and eval need Fashion-MNIST"
fi
finish
