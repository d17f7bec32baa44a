#!/bin/bash
# test_install.sh - `cmake --install` of this build into a scratch prefix gives what a C programmer
# needs: every examples/*.c, copied out of the tree, compiles (-Wall -Wextra -Werror) and links
# with `pkg-config --cflags --libs --static fovea` against the installed copy alone (no path into
# the source or build tree), runs on a slice of Fashion-MNIST and prints what it should; the
# installed CLI runs; and a copy of fovea.pc without its private fields does not link (so the
# fields are what makes the link work). Skipped only without pkg-config.
# Usage: test_install.sh FOVEA SRC_DIR  (the build folder is FOVEA's; FV_CC and FV_CMAKE, set by
# CMakeLists.txt, are the build's compiler and cmake)
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
if ! command -v pkg-config >/dev/null; then
    echo "skipped: pkg-config is not installed"
    finish
    exit
fi
BUILD=$(cd "$(dirname "$FV")" && pwd)
CC=${FV_CC:-cc} CMAKE=${FV_CMAKE:-cmake}
EXTRA="" # a sanitized library needs its runtime
[ "${FV_SANITIZED:-}" = 1 ] && EXTRA="-fsanitize=address,undefined"
P="$TMP/prefix"

expect_ok install "$CMAKE" --install "$BUILD" --prefix "$P"
PC=$(find "$P" -name fovea.pc)
check installed-files test -f "$P/include/fovea.h" -a -x "$P/bin/fovea" -a -n "$PC"
check installed-lib sh -c "ls '$P'/lib*/libfovea.a '$P'/lib/*/libfovea.a 2>/dev/null | grep -q ."
PKG_CONFIG_PATH="$(dirname "$PC")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
version=$(sed -n 's/^#define FV_VERSION "\(.*\)"$/\1/p' "$SRC/include/fovea.h")
check pc-version test "$(pkg-config --modversion fovea)" = "$version"
check pc-prefix test "$(pkg-config --variable=prefix fovea)" = "$P"
FLAGS=$(pkg-config --cflags --libs --static fovea)
check pc-flags sh -c "echo '$FLAGS' | grep -q -- '-lfovea' && ! echo '$FLAGS' | grep -q -e '$SRC' -e '$BUILD'"

# the installed CLI, away from the build tree
check cli-version sh -c "'$P/bin/fovea' --version | grep -q '^fovea $version'"
check cli-summary sh -c "'$P/bin/fovea' summary '$SRC/models/lenet5.fv' | grep -q 'Total params: 61,706'"

# Each example: its arguments (a short run) and what its output must hold (one regex a line).
args() {
    case $1 in
    lenet5) echo "1 2000 lenet5.safetensors" ;;
    keras_style) echo "1 3000" ;;
    transfer) echo "10 3000 1" ;;
    custom_loop) echo "2 3000" ;;
    *) return 1 ;;
    esac
}
expects() {
    case $1 in
    lenet5) printf '%s\n' 'Total params: 61,706' '^test accuracy 0\.[5-9]' ;;
    keras_style) printf '%s\n' 'Total params: 34,826' '^test accuracy 0\.[4-9]' ;;
    transfer) printf '%s\n' '^source: 6 classes, .* test accuracy 0\.[5-9]' '8 of 8 parameter' \
        '^  from scratch .* 0\.[5-9]' '^  transfer, then all .* 0\.[5-9]' ;;
    custom_loop) printf '%s\n' '^epoch 2: lr' '^test accuracy 0\.[5-9]' ;;
    esac
}

mkdir -p "$TMP/ex"
cp "$SRC"/examples/*.c "$TMP/ex/"
have_data=1
[ -d "${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}" ] || have_data=0
[ $have_data = 1 ] || echo "examples not run: Fashion-MNIST is not installed"
for file in "$TMP"/ex/*.c; do
    ex=$(basename "$file" .c) # (not $name: lib.sh's helpers set it)
    # shellcheck disable=SC2086 # FLAGS and EXTRA are lists of words
    expect_ok "build-$ex" "$CC" -std=c11 -Wall -Wextra -Werror -O2 $EXTRA "$file" \
        -o "$TMP/ex/$ex" $FLAGS
    if ! a=$(args "$ex"); then
        echo "FAIL $ex: examples/$ex.c has no run in test_install.sh (add one)" >&2
        FAILS=$((FAILS + 1))
        continue
    fi
    if [ $have_data = 0 ] || [ ! -x "$TMP/ex/$ex" ]; then continue; fi
    before=$FAILS
    # shellcheck disable=SC2086
    (cd "$TMP/ex" && "./$ex" $a >"$TMP/ex/$ex.out" 2>"$TMP/ex/$ex.err")
    check "run-$ex" test $? -eq 0
    while read -r re; do
        check "$ex-output: $re" grep -q -- "$re" "$TMP/ex/$ex.out"
    done < <(expects "$ex")
    [ "$FAILS" -eq "$before" ] || cat "$TMP/ex/$ex.out" "$TMP/ex/$ex.err" >&2
done

# Without its private fields, fovea.pc does not give what libfovea.a needs: linking fails. (This
# also proves that nothing outside the .pc supplies the libraries.)
mkdir -p "$TMP/broken"
grep -v -e '^Requires.private:' -e '^Libs.private:' "$PC" >"$TMP/broken/fovea.pc"
BROKEN=$(PKG_CONFIG_PATH="$TMP/broken" pkg-config --cflags --libs --static fovea)
# shellcheck disable=SC2086
check broken-pc-fails sh -c "! '$CC' $EXTRA '$TMP/ex/keras_style.c' -o '$TMP/broken/a' $BROKEN \
    2>/dev/null"
finish
