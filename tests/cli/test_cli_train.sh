#!/bin/bash
# test_cli_train.sh - the CLI's main path end to end on a slice of real Fashion-MNIST: train,
# summary, eval of the saved weights, predict on real test images, the metrics CSV.
# Usage: test_cli_train.sh FOVEA SRC_DIR
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
expect_ok summary "$FV" summary models/lenet5.fv
check summary-count grep -q "Total params: 61,706" "$TMP/out"
expect_ok train "$FV" train models/lenet5.fv --epochs 2 --limit 3000 --out "$TMP/run" --seed 1
check test-accuracy grep -q "^Test accuracy: 0\.[6-9]" "$TMP/out"
check progress-line grep -q "Epoch 2/2" "$TMP/err"
check weights test -s "$TMP/run/weights.safetensors"
# every figure of the run decodes, is full size and is not blank; the plots also come as SVG
check_png run-figures 400 300 "$TMP/run/"{loss,accuracy,roc,pr,reliability,confusion}.png
check_png run-visuals 150 90 "$TMP/run/"{filters,saliency,misclassified}.png
for f in loss accuracy roc pr reliability confusion; do
    check "svg-$f" grep -q "<svg" "$TMP/run/$f.svg"
done
check report grep -q "data:image/png;base64," "$TMP/run/report.html"
check csv-lines test "$(wc -l <"$TMP/run/metrics.csv")" -eq 3
check csv-header grep -q "^epoch,loss,accuracy,val_loss,val_accuracy" "$TMP/run/metrics.csv"
acc=$(grep "^Test accuracy" "$TMP/out" | cut -d' ' -f3)
expect_ok eval "$FV" eval models/lenet5.fv --weights "$TMP/run/weights.safetensors" --limit 3000 \
    --out "$TMP/ev"
check eval-same-accuracy grep -q "^Test accuracy: $acc" "$TMP/out"
check eval-metrics grep -q "macro F1 0\.[0-9]*, macro AUC 0\.9" "$TMP/out"
check eval-json grep -q '"confusion_matrix"' "$TMP/ev/metrics.json"
check eval-csv grep -q "^Trouser," "$TMP/ev/per_class.csv"
check_png eval-figures 400 300 "$TMP/ev/"{confusion,roc,pr,reliability}.png
expect_ok predict "$FV" predict models/lenet5.fv --weights "$TMP/run/weights.safetensors" \
    tests/data/fashion_trouser.png tests/data/fashion_ankle_boot.png tests/data/fashion_bag.jpg
check predict-three-lines test "$(wc -l <"$TMP/out")" -eq 3
check predict-jpeg grep -q "^tests/data/fashion_bag.jpg: " "$TMP/out"
check predict-trouser grep -q "fashion_trouser.png: Trouser" "$TMP/out"
# visualizations of the trained model: six PNG figures
expect_ok visualize "$FV" visualize models/lenet5.fv --weights "$TMP/run/weights.safetensors" \
    --limit 500 --out "$TMP/viz"
check_png viz-figures 150 90 "$TMP/viz/"{filters,feature_maps,saliency,class_models,misclassified,deconvnet}.png
expect_fail visualize-layer "no layer 'nope'" "$FV" visualize models/lenet5.fv \
    --weights "$TMP/run/weights.safetensors" --limit 100 --layer nope --out "$TMP/viz2"
# a schedule and another optimizer from the command line: the CSV records each epoch's rate
expect_ok schedule "$FV" train models/lenet5.fv --epochs 3 --limit 500 --out "$TMP/sched" \
    --optimizer sgd --lr 0.1 --schedule step --quiet
check schedule-lr sh -c "cut -d, -f8 '$TMP/sched/metrics.csv' | tr '\n' ' ' | grep -q '^lr 0.1 0.05 0.025 \$'"
expect_fail bad-schedule "schedule: total=3 must exceed warmup=4" \
    "$FV" train models/lenet5.fv --epochs 3 --limit 100 --out "$TMP/s2" --schedule cosine --warmup 4
# the k-NN baseline with the same metrics
expect_ok knn "$FV" knn --k 3 --limit 600 --out "$TMP/knn"
check knn-accuracy grep -q "^k-NN (k = 3, L2) test accuracy: 0\.[5-9]" "$TMP/out"
check knn-json grep -q '"per_class"' "$TMP/knn/metrics.json"
expect_fail knn-metric "option --metric" "$FV" knn --metric cosine
# a zoo network, built for the data (1x28x28, 10 classes)
expect_ok zoo-train "$FV" train resnet20 --epochs 1 --limit 300 --out "$TMP/zoo" --quiet
check zoo-accuracy grep -q "^Test accuracy: 0\." "$TMP/out"
expect_ok zoo-list "$FV" zoo
check zoo-resnet50 grep -q "^resnet50 .* 25557032 " "$TMP/out"
check zoo-inception-v3 grep -q "^inception_v3 .*3x299x299 .* 23834568 " "$TMP/out"
check zoo-nasnet-mobile grep -q "^nasnet_mobile .* 5289978 " "$TMP/out"
expect_ok zoo-summary-aux "$FV" summary inception_v3 --aux
check zoo-summary-aux-params grep -q "Trainable params: 27,161,264" "$TMP/out"
expect_ok zoo-summary-keras "$FV" summary nasnet_mobile
check zoo-summary-keras-params grep -q "Total params: 5,326,716" "$TMP/out"
expect_ok zoo-summary "$FV" summary resnet18 --classes 10 --input 1,28,28
check zoo-summary-params grep -q "Trainable params: 11,175,370" "$TMP/out"
expect_fail zoo-unknown "resnet19" "$FV" summary resnet19
# augmentation from the command line (mixup switches to categorical CE on one-hot targets)
expect_ok augment "$FV" train models/lenet5.fv --epochs 2 --limit 2000 --out "$TMP/aug" --quiet \
    --rotate 10 --scale 0.1 --translate 0.1 --erase 0.3 --mixup 0.2 --cutmix 1
check augment-accuracy grep -q "^Test accuracy: 0\.[5-9]" "$TMP/out"
expect_fail augment-gray "saturation, hue and grayscale need RGB images" \
    "$FV" train models/lenet5.fv --epochs 1 --limit 100 --out "$TMP/a2" --hue 0.1
expect_fail augment-range "rotate=500" \
    "$FV" train models/lenet5.fv --epochs 1 --limit 100 --out "$TMP/a3" --rotate 500
finish
