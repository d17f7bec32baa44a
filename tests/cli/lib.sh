# lib.sh - helpers for the CLI tests: run fovea, expect a failure with a one-line message.
# Usage from a test: . "$SRC/tests/cli/lib.sh"; expect_fail "what" "needle" fovea args...
set -u
TMP=$(mktemp -d) # scratch folder, removed by finish
FAILS=0
PASSES=0

# expect_fail NAME NEEDLE CMD...: exit status 1 (not a crash: no signal, no sanitizer report),
# stderr is exactly one line "fovea: ..." containing NEEDLE.
expect_fail() {
    name=$1 needle=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] || ! grep -q "^fovea: .*$needle" "$TMP/err"; then
        echo "FAIL $name: exit $rc, stderr:" >&2
        cat "$TMP/err" >&2
        FAILS=$((FAILS + 1))
    else
        PASSES=$((PASSES + 1))
    fi
}

# expect_ok NAME CMD...: exit status 0.
expect_ok() {
    name=$1
    shift
    if ! "$@" >"$TMP/out" 2>"$TMP/err"; then
        echo "FAIL $name:" >&2
        cat "$TMP/err" >&2
        FAILS=$((FAILS + 1))
    else
        PASSES=$((PASSES + 1))
    fi
}

check() { # check NAME CONDITION-COMMAND...
    name=$1
    shift
    if "$@"; then PASSES=$((PASSES + 1)); else echo "FAIL $name" >&2; FAILS=$((FAILS + 1)); fi
}

# check_png NAME MIN_W MIN_H FILE...: each file decodes as a PNG of at least that size and is
# not blank (with fv_pngcheck, the tests' third argument; else by its signature).
check_png() {
    name=$1 w=$2 h=$3
    shift 3
    if [ -n "${PNGCHECK:-}" ]; then
        check "$name" "$PNGCHECK" "$w" "$h" "$@"
    else
        for f in "$@"; do
            check "$name" sh -c "head -c 8 '$f' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
        done
    fi
}

# need_fashion_mnist: unless Fashion-MNIST is installed, ends the test as skipped (finish, exit 0).
need_fashion_mnist() {
    if [ ! -d "${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}" ]; then
        echo "skipped: Fashion-MNIST is not installed"
        finish
        exit
    fi
}

finish() {
    echo "$PASSES passed, $FAILS failed"
    rm -rf "$TMP"
    [ "$FAILS" -eq 0 ]
}
