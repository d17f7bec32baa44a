#!/bin/bash
# test_cli_proposals.sh - fovea proposals: a small image gives boxes.csv and boxes.json with the
# same boxes (each inside the image, the whole image among them), --max limits them, the overlay
# is a PNG, progress goes to stderr, the same seed repeats the output; bad input fails with one line.
# Usage: test_cli_proposals.sh FOVEA SRC_DIR [PNGCHECK]
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
IMG=tests/data/fashion_bag.png # 28 x 28 gray
expect_ok run "$FV" proposals "$IMG" --out "$TMP/a" --seed 3
check summary grep -q "proposals (.* written) of $IMG in .* s (fast mode)" "$TMP/out"
check progress grep -q "grouping run 12/12" "$TMP/err"
check csv-header sh -c "head -1 '$TMP/a/boxes.csv' | grep -qx 'rank,x1,y1,x2,y2'"
check csv-inside awk -F, 'NR > 1 { n++; if ($2 < 0 || $3 < 0 || $4 > 28 || $5 > 28 || $2 >= $4 ||
    $3 >= $5) bad = 1 } END { exit bad || n < 2 }' "$TMP/a/boxes.csv"
check csv-whole grep -q ',0,0,28,28$' "$TMP/a/boxes.csv"
n=$(($(wc -l <"$TMP/a/boxes.csv") - 1))
check json-count grep -q "^{\"count\": $n, \"boxes\": \[" "$TMP/a/boxes.json"
check json-rows test "$(grep -c '^  \[' "$TMP/a/boxes.json")" -eq "$n"
check_png overlay 28 28 "$TMP/a/overlay.png"
expect_ok again "$FV" proposals "$IMG" --out "$TMP/b" --seed 3 --quiet
check same-seed cmp -s "$TMP/a/boxes.csv" "$TMP/b/boxes.csv"
check quiet test ! -s "$TMP/err"
expect_ok max "$FV" proposals "$IMG" --out "$TMP/c" --max 2 --mode quality --quiet
check max-rows test "$(wc -l <"$TMP/c/boxes.csv")" -eq 3
check quality-mode grep -q "(quality mode)" "$TMP/out"
expect_fail bad-mode "unknown --mode 'slow'" "$FV" proposals "$IMG" --mode slow --out "$TMP/d"
expect_fail no-image "give one IMAGE" "$FV" proposals --out "$TMP/d"
expect_fail missing "nosuch.png" "$FV" proposals "$TMP/nosuch.png" --out "$TMP/d"
printf 'not an image' >"$TMP/bad.png"
expect_fail not-image "bad.png" "$FV" proposals "$TMP/bad.png" --out "$TMP/d"
expect_fail bad-max "--max" "$FV" proposals "$IMG" --max 0
check nothing-written test ! -e "$TMP/d"
finish
