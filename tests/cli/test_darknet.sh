#!/bin/bash
# test_darknet.sh - Darknet networks against Darknet itself. Layer tables: fovea's
# (`fovea darknet table`) equal the golden tables the darknet binary printed
# (tests/golden/gen_darknet_tables.sh) for every cfg that builds, and every Debian cfg either
# builds or fails for a stated reason (a detection head, a recurrent network, a layer not
# built); with /usr/bin/darknet the binary prints the tables again
# (FOVEA_DARKNET_ALL=1: every cfg, about two minutes; else the small ones). Weights: the binary
# saves its own initialisation (`darknet partial CFG /dev/null OUT N`); batch norms get seeded
# statistics (darknet_bnstats.py: its own have variance 0, which makes Darknet's output NaN;
# AlexNet has none, so its file is the binary's unchanged);
# fovea's class probabilities for a photo equal Darknet's (libdarknet through darknet_ref.py, as
# `classifier predict` runs) within 1e-4, and its top 5 equal `darknet classifier predict`'s
# lines. Malformed cfgs and weights fail with one line. Without the darknet package only
# tests/data/darknet's cfg and the error cases run.
# Usage: test_darknet.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
CFGS=/usr/share/darknet/cfg DATA=/usr/share/darknet/data DN=/usr/bin/darknet
PY=/usr/bin/python3

# darknet's stderr while loading a cfg -> its layer table alone
dn_table() {
    "$DN" partial "$1" /dev/null /dev/null 0 2>&1 >/dev/null |
        perl -0pe "s/[A-Za-z_0-9]+: Using default '[^']*'\n//g" |
        grep -v '^Loading weights\|^Saving weights\|^Unused field'
}

# ---------------------------------------------------------------- tables
for g in tests/golden/darknet/*.txt; do
    name=$(basename "$g" .txt)
    cfg=tests/data/darknet/$name.cfg
    [ -f "$cfg" ] || cfg=$CFGS/$name.cfg
    [ -f "$cfg" ] || continue
    expect_ok "table-$name" "$FV" darknet table "$cfg"
    check "table-$name-equals-darknet" cmp -s "$TMP/out" "$g"
done
if [ -d "$CFGS" ]; then
    built=0 same=0 total=0
    for cfg in "$CFGS"/*.cfg; do
        name=$(basename "$cfg" .cfg)
        total=$((total + 1))
        if "$FV" darknet table "$cfg" >"$TMP/$name.tab" 2>"$TMP/err"; then
            built=$((built + 1))
            cmp -s "$TMP/$name.tab" "tests/golden/darknet/$name.txt" && same=$((same + 1))
        else # the reasons the others do not build
            check "no-build-$name" grep -q "detection layer\|not supported\|are needed" "$TMP/err"
            check "no-build-$name-one-line" test "$(wc -l <"$TMP/err")" -eq 1
        fi
    done
    echo "Debian cfgs: $built of $total build; $same tables equal darknet's"
    check all-built-tables-equal test "$built" -eq "$same"
fi
if [ -x "$DN" ] && [ -d "$CFGS" ]; then
    small="tiny darknet cifar cifar.test jnet-conv go.test"
    [ -n "${FOVEA_DARKNET_ALL:-}" ] && small=$(cd "$CFGS" && ls *.cfg | sed 's/\.cfg$//')
    for name in $small mix; do
        cfg=$CFGS/$name.cfg
        [ "$name" = mix ] && cfg=tests/data/darknet/mix.cfg
        "$FV" darknet table "$cfg" >"$TMP/fv.tab" 2>/dev/null || continue
        dn_table "$cfg" >"$TMP/dn.tab"
        check "table-$name-equals-binary" cmp -s "$TMP/fv.tab" "$TMP/dn.tab"
    done
fi

# ---------------------------------------------------------------- probabilities
# probs NAME CFG W H K: Darknet's and fovea's probabilities of dog.jpg (or $IMAGE) with the
# binary's weights
probs() {
    pn=$1 cfg=$2 w=$3 h=$4 k=$5 img=${IMAGE:-$DATA/dog.jpg}
    "$DN" partial "$cfg" /dev/null "$TMP/$pn.w0" 100000 >/dev/null 2>&1
    "$FV" darknet table "$cfg" >"$TMP/$pn.tab"
    "$PY" tests/cli/darknet_bnstats.py "$cfg" "$TMP/$pn.tab" "$TMP/$pn.w0" \
        "$TMP/$pn.weights" 1
    "$PY" tests/cli/darknet_ref.py "$cfg" "$TMP/$pn.weights" "$img" "$w" "$h" "$k" \
        >"$TMP/$pn.ref" 2>/dev/null
    expect_ok "probs-$pn" "$FV" darknet probs "$cfg" "$TMP/$pn.weights" "$img"
    cp "$TMP/out" "$TMP/$pn.fv"
    diff=$(paste "$TMP/$pn.ref" "$TMP/$pn.fv" | awk 'NF == 4 && $1 == $3 { n++; d = $2 - $4;
        if (d < 0) d = -d; if (d > m) m = d } END { if (n == '"$k"') printf "%.3g", m; else print "x" }')
    echo "$pn: max |p_fovea - p_darknet| over $k classes = $diff"
    check "probs-$pn-within-1e-4" awk -v d="$diff" 'BEGIN { exit !(d != "x" && d + 0 <= 1e-4) }'
    rm -f "$TMP/$pn.w0"
}
if [ -x "$DN" ] && [ -f /usr/lib/darknet/libdarknet.so ] && [ -x "$PY" ]; then
    probs mix tests/data/darknet/mix.cfg 20 18 12
    probs tiny "$CFGS/tiny.cfg" 224 224 1000
    probs cifar "$CFGS/cifar.cfg" 28 28 10
    probs resnet18 "$CFGS/resnet18.cfg" 256 256 1000
    probs alexnet "$CFGS/alexnet.cfg" 227 227 1000 # no batch norm: the binary's bytes unchanged
    rm -f "$TMP/alexnet.weights"
    # go: [reorg] extra=1 (362 = 19 x 19 + 1 policy values) on a board-like gray 19 x 19 PNG;
    # Darknet loads it as colour, its one-channel network reads the first (gray) plane
    "$PY" tests/cli/darknet_board.py "$TMP/board.png" 3
    IMAGE="$TMP/board.png" probs go.test "$CFGS/go.test.cfg" 19 19 362
    seq 0 361 | sed 's/^/point/' >"$TMP/go.names"
    printf 'names=%s\ntop=5\n' "$TMP/go.names" >"$TMP/go.data"
    "$DN" classifier predict "$TMP/go.data" "$CFGS/go.test.cfg" "$TMP/go.test.weights" \
        "$TMP/board.png" 2>/dev/null | tail -5 >"$TMP/dn.go5"
    expect_ok predict-go "$FV" darknet predict "$TMP/go.data" "$CFGS/go.test.cfg" \
        "$TMP/go.test.weights" "$TMP/board.png"
    check predict-go-equals-classifier-predict cmp -s "$TMP/out" "$TMP/dn.go5"
    rm -f "$TMP/go.test.weights"
    # darknet9000: [softmax] tree=9k.tree, a softmax per group of siblings (1846 groups of 9418
    # classes); `classifier predict` multiplies down the tree and keeps the leaves
    probs darknet9000 "$CFGS/darknet9000.cfg" 448 448 9418
    printf 'names=%s\ntop=5\n' "$DATA/9k.names" >"$TMP/9k.data"
    "$DN" classifier predict "$TMP/9k.data" "$CFGS/darknet9000.cfg" "$TMP/darknet9000.weights" \
        "$DATA/dog.jpg" 2>/dev/null | tail -5 >"$TMP/dn.9k5"
    expect_ok predict-9k "$FV" darknet predict "$TMP/9k.data" "$CFGS/darknet9000.cfg" \
        "$TMP/darknet9000.weights" "$DATA/dog.jpg"
    check predict-9k-equals-classifier-predict cmp -s "$TMP/out" "$TMP/dn.9k5"
    rm -f "$TMP/darknet9000.weights"
    # the top 5 as `darknet classifier predict` prints them, through `fovea predict`
    "$DN" classifier predict "$CFGS/imagenet1k.data" "$CFGS/tiny.cfg" "$TMP/tiny.weights" \
        "$DATA/dog.jpg" 2>/dev/null | tail -5 >"$TMP/dn.top5"
    expect_ok predict-tiny "$FV" darknet predict "$CFGS/imagenet1k.data" "$CFGS/tiny.cfg" \
        "$TMP/tiny.weights" "$DATA/dog.jpg"
    check predict-tiny-equals-classifier-predict cmp -s "$TMP/out" "$TMP/dn.top5"
    expect_ok predict-cli "$FV" predict "$CFGS/tiny.cfg" --weights "$TMP/tiny.weights" \
        "$DATA/dog.jpg"
    check predict-cli-top5 test "$(sed 's/:.*//' "$TMP/out")" = "$(sed 's/:.*//' "$TMP/dn.top5")"
fi

# ---------------------------------------------------------------- malformed input
mk() { printf '%s\n' "$@" >"$TMP/bad.cfg"; }
NET='[net]
width=8
height=8
channels=3'
mk "$NET" '[convolutional]' 'filters=4' '[bogus]'
expect_fail unknown-section "bad.cfg:7: \[bogus\] (layer 1): unknown section" "$FV" darknet table "$TMP/bad.cfg"
mk "$NET" '[convolutional]' 'filters=4' 'colour=red'
expect_fail unknown-key "bad.cfg:7: \[convolutional\] (layer 0): unknown key 'colour'" "$FV" darknet table "$TMP/bad.cfg"
mk "$NET" '[convolutional]' 'filters=four'
expect_fail bad-value "filters=four: expected an integer" "$FV" darknet table "$TMP/bad.cfg"
mk "$NET" '[convolutional]' 'size=-3'
expect_fail negative-size "size=-3: expected an integer in 1..1024" "$FV" darknet table "$TMP/bad.cfg"
mk "$NET" '[convolutional]' '[route]' 'layers=3'
expect_fail later-route "layers: layer 3 is not an earlier layer (this is layer 1)" "$FV" darknet table "$TMP/bad.cfg"
mk "$NET" '[convolutional]' '[yolo]' 'classes=2'
expect_fail detection "\[yolo\] (layer 1): a detection layer" "$FV" darknet table "$TMP/bad.cfg"
mk "$NET" '[convolutional]' '[reorg]' 'stride=2'
expect_fail reorg-no-extra "\[reorg\] (layer 1): a reorg without extra (space to depth) is not supported" "$FV" darknet table "$TMP/bad.cfg"
mk "$NET" '[convolutional]' '[reorg]' 'extra=1' 'flatten=1'
expect_fail reorg-flatten "flatten=1 (a transposing reorg) is not supported" "$FV" darknet table "$TMP/bad.cfg"
mk '[convolutional]' 'filters=2'
expect_fail no-net "first section must be \[net\]" "$FV" darknet table "$TMP/bad.cfg"
mk "$NET" '[convolutional]' 'activation=swish'
expect_fail bad-activation "activation 'swish' is not supported" "$FV" darknet table "$TMP/bad.cfg"
mk "$NET" '[convolutional]' 'filters=2'
expect_ok dispatch "$FV" summary "$TMP/bad.cfg" # fv_model_load_file reads a cfg
check dispatch-names grep -q conv_0 "$TMP/out"
printf '\0\0\0\0\2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0abcd' >"$TMP/short.weights"
expect_fail truncated-weights "truncated: layer 0 (convolutional" "$FV" darknet probs "$TMP/bad.cfg" \
    "$TMP/short.weights" "$DATA/dog.jpg"
finish
