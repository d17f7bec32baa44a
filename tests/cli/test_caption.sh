#!/bin/bash
# test_caption.sh - `fovea caption`: a tiny training run (a narrow captioner, a few captioned
# scenes of Fashion-MNIST's images as the digits, one epoch) writes the model, weights,
# vocabulary, metrics JSON (exact-caption accuracy and BLEU-4, greedy and beam) and the report
# with scenes and their captions; eval reads the run back, also against a set written to disk;
# `caption IMAGE --weights DIR` prints a caption of the vocabulary; a token outside the
# vocabulary, a captions file that does not match its images and bad options fail with one
# line. No timing and no accuracy is checked (the run is too short to learn).
# Usage: test_caption.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
DATA=${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}
json_keys() {
    python3 -c "import json, sys; m = json.load(open(sys.argv[1]))
assert 0 <= m['greedy']['exact'] <= 1 and 0 <= m['beam']['bleu4'] <= 1 and m['beam']['width'] == 2" "$1"
}
in_vocab() { # every word of the printed caption is a token of the run's vocabulary
    python3 -c "import sys; v = set(open(sys.argv[1]).read().split())
words = open(sys.argv[2]).read().split(); assert words and all(w in v for w in words)" "$1" "$2"
}

expect_ok train "$FV" caption train --train 16 --test 4 --epochs 1 --batch 8 --units 16 \
    --beam 2 --data "$DATA" -o "$TMP/run" --quiet
check run-files test -f "$TMP/run/model.fv" -a -f "$TMP/run/weights.safetensors" \
    -a -f "$TMP/run/vocab.txt"
check metrics-json json_keys "$TMP/run/metrics.json"
check report-captions grep -q "truth: " "$TMP/run/report.html"
check report-figures grep -q "data:image/png;base64" "$TMP/run/report.html"

expect_ok write "$FV" caption write -o "$TMP/sets" --train 2 --test 3 --data "$DATA"
check set-lines test "$(wc -l <"$TMP/sets/test/captions.txt")" -eq 3 -a \
    "$(wc -l <"$TMP/sets/train/captions.txt")" -eq 2
SET=$TMP/sets/test
expect_ok eval "$FV" caption eval "$TMP/run" --captions "$SET" --beam 2 -o "$TMP/e.json"
check eval-json json_keys "$TMP/e.json"
check eval-print grep -q "Captions of 3 held-out scenes" "$TMP/out"

expect_ok predict "$FV" caption "$SET/000000.png" --weights "$TMP/run" --quiet
check predict-words in_vocab "$TMP/run/vocab.txt" "$TMP/out"
expect_ok predict2 "$FV" caption predict "$TMP/run" "$SET/000001.png" --beam 1 --quiet
check predict2-words in_vocab "$TMP/run/vocab.txt" "$TMP/out"

sed -i '1s/ : / : cat /' "$SET/captions.txt"
expect_fail bad-token "line 1 (000000.png): caption .*token 'cat' is not in the vocabulary" \
    "$FV" caption eval "$TMP/run" --captions "$SET"
sed -i '1s/ : cat / : /' "$SET/captions.txt"
rm "$SET/000002.png"
expect_fail missing-image "image 3 '000002.png' does not match" "$FV" caption eval "$TMP/run" \
    --captions "$SET"
expect_fail no-out "caption train: -o DIR is required" "$FV" caption train --data "$DATA"
expect_fail no-run "vocab.txt" "$FV" caption eval "$TMP/none"
expect_fail no-image "nothing.png" "$FV" caption "$TMP/nothing.png" --weights "$TMP/run"
"$FV" caption train --beam 0 -o "$TMP/z" >/dev/null 2>&1
check bad-beam test $? -eq 2
finish
