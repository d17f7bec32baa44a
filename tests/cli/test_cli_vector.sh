#!/bin/bash
# test_cli_vector.sh - vector data end to end: an MLP learns y = 2 x1 - x2 + noise from a CSV with
# --loss mse (R^2 > 0.9 on the held-out fifth, the same rows and figures again from eval), mae and
# huber run, a classifier learns three blobs from .npy files (samples (N, 2, 2) <f4, labels <i8)
# tested on a second .npy pair, a CSV with named classes and --target; bad vector input is one
# line. Data are generated here by perl (perl-base is essential on Debian). Usage:
# test_cli_vector.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"

# y = 2 x1 - x2 + noise (uniform in +-0.1), x in [-2, 2]^2: 600 rows, a header
perl -e '
my $s = 12345; sub r { $s = ($s * 1103515245 + 12345) % 2147483648; $s / 2147483648 }
print "x1,x2,y\n";
for (1..600) { my ($a, $b, $n) = (4*r()-2, 4*r()-2, (r()-0.5)*0.2);
               printf "%.5f,%.5f,%.5f\n", $a, $b, 2*$a - $b + $n }' >"$TMP/reg.csv"
expect_ok regression-train "$FV" train models/mlp_regression.fv --data "$TMP/reg.csv" --loss mse \
    --epochs 30 --batch 32 --seed 1 --out "$TMP/reg"
cp "$TMP/out" "$TMP/train.out"
check regression-no-acc-column sh -c "! grep -q ' acc ' '$TMP/err'" # no accuracy to show
r2=$(sed -n 's/.*R^2 \([-0-9.]*\).*/\1/p' "$TMP/train.out")
check regression-r2-above-0.9 awk -v r="$r2" 'BEGIN { exit !(r != "" && r > 0.9) }'
check regression-120-held-out grep -q "120 samples" "$TMP/train.out"
check regression-no-accuracy sh -c "! grep -q accuracy '$TMP/train.out'"
check regression-json grep -q '"r2":' "$TMP/reg/metrics.json"
check regression-loss-curve test -s "$TMP/reg/loss.png"
expect_ok regression-eval "$FV" eval models/mlp_regression.fv --data "$TMP/reg.csv" --loss mse \
    --weights "$TMP/reg/weights.safetensors" --out "$TMP/reg-eval"
# eval holds out the same rows: the same figures
check regression-eval-same grep -qF "$(grep '^Test MAE' "$TMP/train.out")" "$TMP/out"
for loss in mae huber; do
    expect_ok "regression-$loss" "$FV" train models/mlp_regression.fv --data "$TMP/reg.csv" \
        --loss $loss --epochs 2 --out "$TMP/$loss" --quiet
    check "regression-$loss-metrics" grep -q "^Test MAE" "$TMP/out"
done

# .npy: three classes of blobs, samples (N, 2, 2) <f4 and labels (N) <i8, format 1.0
npy() { # npy FILE DESCR SHAPE FORMAT VALUES...: a .npy file of the values packed by FORMAT
    perl -e '
my ($file, $descr, $shape, $fmt, @v) = @ARGV;
my $h = "{\x27descr\x27: \x27$descr\x27, \x27fortran_order\x27: False, \x27shape\x27: $shape, }";
$h .= " " x ((64 - (10 + length($h) + 1) % 64) % 64) . "\n";
open(my $f, ">:raw", $file) or die; print $f "\x93NUMPY\x01\x00", pack("v", length $h), $h;
print $f pack("$fmt*", @v);' "$@"
}
blobs() { # blobs SEED N: "k x1 x2 x3 x4" lines
    perl -e 'my $s = $ARGV[0]; sub r { $s = ($s * 1103515245 + 12345) % 2147483648; $s / 2147483648 }
for (1..$ARGV[1]) { my $k = int(3*r()); print join(" ", $k, map { $k + 0.6*(r()-0.5) } 1..4), "\n" }' "$@"
}
blobs 3 400 >"$TMP/train.txt"
blobs 4 100 >"$TMP/test.txt"
for s in train test; do
    n=$(wc -l <"$TMP/$s.txt")
    npy "$TMP/x_$s.npy" '<f4' "($n, 2, 2)" 'f<' $(cut -d' ' -f2- "$TMP/$s.txt")
    npy "$TMP/y_$s.npy" '<i8' "($n,)" 'q<' $(cut -d' ' -f1 "$TMP/$s.txt")
done
printf 'model mlp4\ninput shape=4\ndense units=16 activation=relu\ndense units=3\n' >"$TMP/mlp4.fv"
expect_ok npy-train "$FV" train "$TMP/mlp4.fv" --data "$TMP/x_train.npy" \
    --labels "$TMP/y_train.npy" --test "$TMP/x_test.npy" --test-labels "$TMP/y_test.npy" \
    --epochs 15 --batch 16 --seed 1 --out "$TMP/npy"
cp "$TMP/out" "$TMP/npy.out"
acc=$(sed -n 's/^Test accuracy: \([0-9.]*\).*/\1/p' "$TMP/out")
check npy-accuracy-above-0.9 awk -v a="$acc" 'BEGIN { exit !(a != "" && a > 0.9) }'
check npy-100-tested grep -q "100 images" "$TMP/out"
check npy-class-names grep -q '^2,' "$TMP/npy/per_class.csv"

# a CSV with named classes, the target first and given by name, tested on its own file
{ echo "species,a,b,c,d"; awk '{ print ($1 == 0 ? "ant" : $1 == 1 ? "bee" : "cat") "," $2 "," $3 "," $4 "," $5 }' "$TMP/train.txt"; } >"$TMP/cls.csv"
{ echo "species,a,b,c,d"; awk '{ print ($1 == 0 ? "ant" : $1 == 1 ? "bee" : "cat") "," $2 "," $3 "," $4 "," $5 }' "$TMP/test.txt"; } >"$TMP/cls_test.csv"
expect_ok csv-classes "$FV" train "$TMP/mlp4.fv" --data "$TMP/cls.csv" --target species \
    --test "$TMP/cls_test.csv" --epochs 15 --batch 16 --seed 1 --out "$TMP/cls" --quiet
check csv-class-names grep -q '^bee,' "$TMP/cls/per_class.csv"
acc=$(sed -n 's/^Test accuracy: \([0-9.]*\).*/\1/p' "$TMP/out")
check csv-accuracy-above-0.9 awk -v a="$acc" 'BEGIN { exit !(a != "" && a > 0.9) }'
sed -n '1,3p' "$TMP/test.txt" | awk '{ print "eel," $2 "," $3 "," $4 "," $5 }' >>"$TMP/cls_test.csv"
expect_fail csv-unknown-class "cls_test.csv: line 102, column 1: label 'eel' is not one of the 3 classes" \
    "$FV" train "$TMP/mlp4.fv" --data "$TMP/cls.csv" --target species --test "$TMP/cls_test.csv" \
    --epochs 1 --out "$TMP/cls2" --quiet

# bad vector input and options: one line
expect_fail csv-real-labels "label '.*' is not a class index" \
    "$FV" train models/mlp_regression.fv --data "$TMP/reg.csv" --epochs 1 --out "$TMP/bad"
printf 'x1,x2,y\n1,2,3\n1,oops,3\n' >"$TMP/bad.csv"
expect_fail csv-not-a-number "bad.csv: line 3, column 2 (x2): 'oops' is not a number" \
    "$FV" train models/mlp_regression.fv --data "$TMP/bad.csv" --loss mse --out "$TMP/bad"
printf 'x1,x2,y\n1,2,3\n1,2\n' >"$TMP/bad.csv"
expect_fail csv-ragged "bad.csv: line 3 has 2 fields, expected 3" \
    "$FV" train models/mlp_regression.fv --data "$TMP/bad.csv" --loss mse --out "$TMP/bad"
printf '\x93NUMPY\x01\x00\x40\x00{' >"$TMP/bad.npy"
expect_fail npy-truncated "bad.npy: truncated: the header claims 64 bytes" \
    "$FV" train "$TMP/mlp4.fv" --data "$TMP/bad.npy" --labels "$TMP/y_train.npy" --out "$TMP/bad"
expect_fail npy-no-labels "needs --labels" "$FV" train "$TMP/mlp4.fv" --data "$TMP/x_train.npy"
expect_fail npy-rows "x_train.npy has 400 samples but .*y_test.npy has 100 rows" \
    "$FV" train "$TMP/mlp4.fv" --data "$TMP/x_train.npy" --labels "$TMP/y_test.npy" --out "$TMP/bad"
expect_fail bad-loss "option --loss: bad value 'l3'" "$FV" train --loss l3
expect_fail target-without-csv "need --data FILE.csv" "$FV" train --target y
check no-bad-run test ! -e "$TMP/bad/weights.safetensors"
grep -h "R^2\|Test accuracy" "$TMP/train.out" "$TMP/npy.out" >&2
finish
