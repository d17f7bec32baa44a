# scene_lib.sh - what the tests of the scene commands (detect, segment) share; sourced with FV,
# SRC and PNGCHECK set: lib.sh, Fashion-MNIST's images as the digits ($DATA; the test is skipped
# without them), a JSON check, the report's checks, an eval run's checks and a 120 px scene.
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
DATA=${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}
json_ok() { python3 -c "import json, sys; json.load(open(sys.argv[1]))" "$1"; }

# check_report RUN METRIC TIME: RUN/report.html has its figures inlined, METRIC and TIME.
check_report() {
    check report-figures grep -q "data:image/png;base64" "$1/report.html"
    check report-metrics grep -q "$2" "$1/report.html"
    check report-times grep -q "$3" "$1/report.html"
}

# eval_ok NAME OUT.json CMD...: CMD -o OUT.json succeeds and OUT.json is valid JSON.
eval_ok() {
    local ename=$1 json=$2
    shift 2
    expect_ok "$ename" "$@" -o "$json"
    check "$ename-json" json_ok "$json"
}

# make_scene: one 120 x 120 scene of $DATA's images, its path in $SCENE.
make_scene() {
    expect_ok scenes "$FV" scenes --out "$TMP/sc" --train 1 --test 0 --size 120 --data "$DATA" \
        --quiet
    SCENE=$TMP/sc/JPEGImages/train_000000.png
}

# eval_predict CMD PRINTED OUT.png PREDICT_OPTS...: `fovea CMD eval $TMP/run --test 3` writes
# valid JSON and prints PRINTED; `fovea CMD predict $TMP/run SCENE -o OUT.png PREDICT_OPTS...` on
# a new scene ($SCENE) succeeds with a 120 x 120 PNG ($TMP/out keeps what predict printed).
eval_predict() {
    local cmd=$1 printed=$2 png=$3
    shift 3
    eval_ok eval "$TMP/eval.json" "$FV" "$cmd" eval "$TMP/run" --test 3 --data "$DATA"
    check eval-print grep -q "$printed" "$TMP/out"
    make_scene
    expect_ok predict "$FV" "$cmd" predict "$TMP/run" "$SCENE" -o "$png" "$@"
    check_png predict-png 120 120 "$png"
}
