#!/bin/bash
# test_cli_transfer.sh - transfer learning and self-describing weights from the CLI, on slices of
# real Fashion-MNIST and a small image folder: --weights is used (epoch 0's accuracy is the loaded
# model's), a new head, frozen layers and a fine-tuning phase; bad layer names and weights of
# another architecture are one-line errors leaving no output; eval, predict and visualize take the
# model, class names and normalization from the weights file alone.
# Usage: test_cli_transfer.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
W="$TMP/a/weights.safetensors"
expect_ok train-a "$FV" train models/lenet5.fv --epochs 1 --limit 1500 --out "$TMP/a" --seed 1 \
    --quiet
# the weights alone describe the model: eval needs no MODEL.fv
expect_ok eval-weights-only "$FV" eval --weights "$W" --limit 1500 --out "$TMP/ev"
acc=$(grep "^Test accuracy" "$TMP/out" | cut -d' ' -f3)
check eval-accuracy test -n "$acc"
# --weights is used: epoch 0 is the loaded model, with the same test accuracy
expect_ok train-from "$FV" train models/lenet5.fv --weights "$W" --epochs 1 --limit 1500 \
    --out "$TMP/b" --seed 2
check load-report grep -q "^Weights from .*: 10 of 10 parameter tensors loaded" "$TMP/out"
check epoch0-is-loaded grep -q "^Epoch 0 (from .*): test accuracy $acc," "$TMP/out"
# a new head, the features frozen up to fc2, then the whole net fine-tuned at a lower rate
expect_ok finetune "$FV" train models/lenet5.fv --weights "$W" --new-head --freeze-to fc2 \
    --epochs 1 --finetune-epochs 1 --finetune-lr 0.0001 --limit 1500 --out "$TMP/f"
check new-head grep -q "^New head: 'fc3', re-initialised for 10 classes" "$TMP/out"
check new-head-not-loaded grep -q "^  new, kept at their initial values (2): fc3.weight, fc3.bias" \
    "$TMP/out"
check frozen grep -q "^Trainable params: 850$" "$TMP/out"
check finetune-phase grep -q "^Fine-tuning every layer for 1 epochs at learning rate 0.0001" \
    "$TMP/out"
check finetune-csv test "$(wc -l <"$TMP/f/finetune/metrics.csv")" -eq 2
check finetune-weights test -s "$TMP/f/weights.safetensors"
# --compare-scratch: the same network from its initial weights, same data and epochs (2 here),
# its accuracy printed and in the report beside this run's
expect_ok compare "$FV" train models/lenet5.fv --weights "$W" --new-head --freeze-to fc2 \
    --epochs 1 --finetune-epochs 1 --limit 1500 --compare-scratch --out "$TMP/s"
check scratch-printed grep -q "^From scratch: test accuracy 0\.[0-9]*$" "$TMP/out"
check scratch-csv test "$(wc -l <"$TMP/s/scratch/metrics.csv")" -eq 3
scr=$(sed -n 's/^From scratch: test accuracy 0\.\([0-9][0-9]\)\([0-9][0-9]\).*/\1.\2/p' "$TMP/out")
check scratch-in-report grep -q "from scratch (same data and epochs)</th><td>$scr" "$TMP/s/report.html"
# freezing a layer that does not exist: one line, and no output folder at all
expect_fail freeze-unknown "model 'lenet5' has no layer 'conv9' (layers with parameters: conv1" \
    "$FV" train models/lenet5.fv --weights "$W" --freeze conv1,conv9 --limit 100 --out "$TMP/c"
check freeze-no-output test ! -e "$TMP/c"
expect_fail freeze-to-unknown "has no layer 'f7'" "$FV" train models/lenet5.fv --freeze-to f7 \
    --limit 100 --out "$TMP/c"
check freeze-to-no-output test ! -e "$TMP/c"
# weights of another architecture, and a head of another shape
expect_fail other-architecture "weights of another architecture" "$FV" train resnet20 \
    --weights "$W" --limit 100 --out "$TMP/d"
check other-no-output test ! -e "$TMP/d"
sed 's/units=120 /units=100 /' models/lenet5.fv >"$TMP/narrow.fv"
expect_fail mismatch "tensor 'fc1.weight' has shape (120, 400), the model expects (100, 400)" \
    "$FV" train "$TMP/narrow.fv" --weights "$W" --limit 100 --out "$TMP/e"
check mismatch-no-output test ! -e "$TMP/e"
expect_ok skip-mismatched "$FV" train "$TMP/narrow.fv" --weights "$W" --skip-mismatched \
    --limit 300 --epochs 1 --out "$TMP/e"
check skip-report grep -q "skipped, shape differs from the file's (3): fc1.weight, fc1.bias, fc2.weight" \
    "$TMP/out"
expect_fail skip-needs-weights "need --weights FILE" "$FV" train --skip-mismatched --limit 10
expect_fail resume-and-weights "--resume continues a run" "$FV" train --resume --weights "$W"
expect_fail per-class-too-many "fewer than the 500 per class asked for" "$FV" train \
    --per-class 500 --limit 1000 --out "$TMP/p"
# class names from the weights file: a two-class image folder, the model (zoo lenet5, built for
# its 2 classes) and its names from the file alone
for c in bag trouser; do
    mkdir -p "$TMP/imgs/$c"
    for i in 1 2 3 4 5 6 7 8; do cp "tests/data/fashion_$c.png" "$TMP/imgs/$c/$i.png"; done
done
expect_ok train-folder "$FV" train lenet5 --data "$TMP/imgs" --epochs 5 --out "$TMP/g" --quiet
expect_ok predict-weights-only "$FV" predict --weights "$TMP/g/weights.safetensors" \
    tests/data/fashion_trouser.png tests/data/fashion_bag.png
check predict-own-names grep -q "^tests/data/fashion_trouser.png: trouser " "$TMP/out"
check predict-own-names-2 grep -q "^tests/data/fashion_bag.png: bag " "$TMP/out"
# visualize explains the predicted class unless told another
expect_ok visualize-predicted "$FV" visualize --weights "$W" --image tests/data/fashion_trouser.png \
    --limit 200 --out "$TMP/viz"
check visualize-class grep -q "^Explaining class 1 (the predicted class)" "$TMP/out"
expect_ok visualize-class "$FV" visualize --weights "$W" --class 4 --limit 200 --out "$TMP/viz"
check visualize-class-given grep -q "^Explaining class 4$" "$TMP/out"
# hostile metadata: class names that do not fit the outputs, bad JSON
expect_fail names-count "2 class names for a model with 3 outputs" "$FV" predict --weights \
    tests/fuzz/corpus/fuzz_safetensors/meta_two_names.safetensors tests/data/fashion_bag.png
expect_fail names-json "metadata 'class_names' is not valid JSON" "$FV" eval --weights \
    tests/fuzz/corpus/fuzz_safetensors/meta_bad_json.safetensors
expect_fail no-architecture "does not describe its model" "$FV" predict --weights \
    tests/fuzz/corpus/fuzz_safetensors/meta_no_arch.safetensors tests/data/fashion_bag.png
# the original MNIST, where scripts/get-mnist.sh put it: digits' names from the weights alone
if [ -f data/mnist/t10k-labels-idx1-ubyte ]; then
    expect_ok mnist-train "$FV" train models/lenet5.fv --data mnist --per-class 100 --epochs 5 \
        --limit 5000 --out "$TMP/m" --quiet --seed 3
    expect_ok mnist-eval "$FV" eval --weights "$TMP/m/weights.safetensors" --limit 500 \
        --out "$TMP/mev"
    check mnist-eval-names grep -q "^7," "$TMP/mev/per_class.csv"
    expect_ok mnist-predict "$FV" predict --weights "$TMP/m/weights.safetensors" \
        tests/data/mnist_7.png
    check mnist-predict-digit grep -q "^tests/data/mnist_7.png: 7 " "$TMP/out"
fi
finish
