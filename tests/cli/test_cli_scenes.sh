#!/bin/bash
# test_cli_scenes.sh - `fovea scenes`: a small MNIST-style detection set (Fashion-MNIST's images
# as the digits) in VOC layout with its preview, byte-identical for one seed and different for
# another, read back by the VOC reader (the command says how many boxes it read); the note when
# data/mnist is missing; bad options as one line. Usage: test_cli_scenes.sh FOVEA SRC_DIR [PNGCHECK]
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
DATA=${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}

expect_ok scenes "$FV" scenes --out "$TMP/a" --train 6 --test 3 --size 160 --seed 4 --data "$DATA"
check layout test -f "$TMP/a/Annotations/train_000005.xml" -a -f "$TMP/a/JPEGImages/test_000002.png" \
    -a -f "$TMP/a/ImageSets/Main/train.txt" -a -f "$TMP/a/ImageSets/Main/test.txt" \
    -a -f "$TMP/a/class_names.txt"
check split-lists sh -c "[ \$(wc -l <'$TMP/a/ImageSets/Main/train.txt') -eq 6 ] && \
    [ \$(wc -l <'$TMP/a/ImageSets/Main/test.txt') -eq 3 ]"
check read-back grep -q "^train: 6 images, [0-9]* boxes, 10 classes (read back as VOC)" "$TMP/out"
check canvas-size grep -q "<width>160</width>" "$TMP/a/Annotations/train_000000.xml"
check fashion-names grep -q "^Ankle boot$" "$TMP/a/class_names.txt"
check_png preview 600 300 "$TMP/a/preview.png"

# the same seed: the same files; another seed: other annotations
expect_ok scenes-again "$FV" scenes --out "$TMP/b" --train 6 --test 3 --size 160 --seed 4 --data "$DATA" --quiet
check same-seed diff -r "$TMP/a/Annotations" "$TMP/b/Annotations"
check same-images diff -r "$TMP/a/JPEGImages" "$TMP/b/JPEGImages"
expect_ok scenes-seed "$FV" scenes --out "$TMP/c" --train 6 --test 0 --size 160 --seed 5 --data "$DATA" --quiet
check other-seed sh -c "! diff -rq '$TMP/a/Annotations/train_000001.xml' '$TMP/c/Annotations/train_000001.xml' >/dev/null"
check test-split-skipped test ! -e "$TMP/c/ImageSets/Main/test.txt"

# without data/mnist: Fashion-MNIST, with a note
mkdir -p "$TMP/cwd"
(cd "$TMP/cwd" && "$FV" scenes --out d --train 2 --test 0 --size 120 --quiet) >"$TMP/out" 2>"$TMP/err"
check fallback-note grep -q "data/mnist not found (scripts/get-mnist.sh" "$TMP/err"
check fallback-set test -f "$TMP/cwd/d/Annotations/train_000001.xml"

expect_fail no-out "scenes: --out DIR is required" "$FV" scenes --train 2
expect_fail bad-count "take a count" "$FV" scenes --out "$TMP/e" --train -3 --data "$DATA"
expect_fail bad-test "take a count" "$FV" scenes --out "$TMP/e" --test x.csv --data "$DATA"
expect_fail small-canvas "digit sides 15..100 on a 50 canvas" "$FV" scenes --out "$TMP/e" \
    --train 1 --size 50 --data "$DATA"
expect_fail no-data "No such file" "$FV" scenes --out "$TMP/e" --train 1 --data "$TMP/none"
finish
