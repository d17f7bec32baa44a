#!/bin/bash
# test_cli_gan.sh - `fovea gan`: a few DCGAN steps on Fashion-MNIST write the per-epoch sample
# grids, history.csv (a row per epoch), the curves, the latent interpolation grid, the report and
# G's and D's weights; the same seed gives the same weights, another loss other ones; --data mnist
# reads data/mnist; --conditional draws a row per class, and 2 epochs equal 1 epoch + --resume to
# 2 bit for bit; gan-score prints the Frechet distance, its floor, the Inception Score, the class
# histogram and (conditional) the agreement, for a generator and for .npy samples; bad options and
# too little data fail with one line. Usage: test_cli_gan.sh FOVEA SRC_DIR [PNGCHECK]
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist

expect_ok gan "$FV" gan --out "$TMP/a" --limit 32 --batch 16 --epochs 2 --latent 16 --seed 3
check files test -f "$TMP/a/G.safetensors" -a -f "$TMP/a/D.safetensors" -a -f "$TMP/a/history.csv"
check history-header grep -q "^epoch,loss_d,loss_g,d_real,d_fake,seconds$" "$TMP/a/history.csv"
check history-rows sh -c "[ \$(grep -c '^[12],' '$TMP/a/history.csv') -eq 2 ]"
check printed grep -q "^epoch 2/2: D loss" "$TMP/out"
check_png grids 200 200 "$TMP/a/samples_e001.png" "$TMP/a/samples_e002.png"
check_png curves 200 150 "$TMP/a/losses.png" "$TMP/a/scores.png"
check_png interpolation 200 200 "$TMP/a/interpolation.png"
check report sh -c "[ \$(grep -o '<img' '$TMP/a/report.html' | wc -l) -eq 5 ] && \
    grep -q 'Adam 2e-4, beta1 0.5' '$TMP/a/report.html'"

# seeded: the same weights again; another loss trains to other weights
expect_ok gan-again "$FV" gan --out "$TMP/b" --limit 32 --batch 16 --epochs 2 --latent 16 \
    --seed 3 --quiet
check same-seed cmp -s "$TMP/a/G.safetensors" "$TMP/b/G.safetensors"
check same-seed-d cmp -s "$TMP/a/D.safetensors" "$TMP/b/D.safetensors"
expect_ok gan-lsgan "$FV" gan --out "$TMP/c" --limit 32 --batch 16 --epochs 1 --latent 16 \
    --seed 3 --loss lsgan --quiet
check other-loss sh -c "! cmp -s '$TMP/a/G.safetensors' '$TMP/c/G.safetensors'"

if [ -d data/mnist ]; then
    expect_ok gan-mnist "$FV" gan --out "$TMP/m" --data mnist --limit 16 --batch 8 --epochs 1 \
        --steps 1 --loss hinge --quiet
    check mnist-files test -f "$TMP/m/G.safetensors" -a -f "$TMP/m/samples_e001.png"
fi

# conditional: rows are classes; resume after epoch 1 gives epoch 2's weights bit for bit
expect_ok gan-cond "$FV" gan --out "$TMP/k" --limit 48 --batch 16 --epochs 2 --latent 8 --seed 4 \
    --conditional --quiet
check_png cond-grid 200 300 "$TMP/k/samples_e002.png"
check cond-report grep -q "row k is class k; 0 T-shirt/top, 1 Trouser" "$TMP/k/report.html"
expect_ok gan-cond-1 "$FV" gan --out "$TMP/r" --limit 48 --batch 16 --epochs 1 --latent 8 --seed 4 \
    --conditional --quiet
expect_ok gan-resume "$FV" gan --out "$TMP/r" --limit 48 --batch 16 --epochs 2 --latent 8 \
    --seed 4 --conditional --resume
check resumed grep -q "^resumed after epoch 1$" "$TMP/out"
check resume-same-g cmp -s "$TMP/k/G.safetensors" "$TMP/r/G.safetensors"
check resume-same-d cmp -s "$TMP/k/D.safetensors" "$TMP/r/D.safetensors"
check resume-history sh -c "[ \$(grep -c '^[12],' '$TMP/r/history.csv') -eq 2 ]"
expect_fail resume-short "after epoch 2, but this run has 1 epochs" "$FV" gan --out "$TMP/r" \
    --limit 48 --batch 16 --epochs 1 --latent 8 --seed 4 --conditional --resume

# gan-score: a classifier of a few images; the generator's samples and saved .npy samples
expect_ok cls "$FV" train models/gan_metric28.fv --limit 64 --epochs 1 --val-split 0 --quiet \
    --out "$TMP/cls" --threads 1
expect_ok score "$FV" gan-score --classifier "$TMP/cls/weights.safetensors" \
    --generator "$TMP/k/G.safetensors" --latent 8 --conditional -n 40 -o "$TMP/s.json"
check score-lines sh -c "grep -q '^Frechet distance [0-9.]* (floor, real train vs test: [0-9.]*)' \
    '$TMP/out' && grep -q '^Inception Score' '$TMP/out' && grep -q '^class histogram:' '$TMP/out'"
check score-agree grep -q "^agreement with the class asked for:" "$TMP/out"
check score-json grep -q '"frechet_distance": .*"histogram": \[.*"agreement": \[' "$TMP/s.json"
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
    /usr/bin/python3 -c "import numpy as np; r = np.random.RandomState(0); \
np.save('$TMP/x.npy', (r.rand(30, 1, 28, 28) * 255).astype(np.uint8)); \
np.save('$TMP/y.npy', np.arange(30) % 10)"
    expect_ok score-npy "$FV" gan-score --classifier "$TMP/cls/weights.safetensors" \
        --samples "$TMP/x.npy" --labels "$TMP/y.npy" -n 30
    check score-npy-n grep -q "^30 generated vs 30 real test images$" "$TMP/out"
fi
expect_fail score-args "needs --classifier W and one of" "$FV" gan-score --samples "$TMP/x.npy"
expect_fail score-gen "nowhere" "$FV" gan-score --classifier "$TMP/cls/weights.safetensors" \
    --generator "$TMP/nowhere.safetensors"

expect_fail no-out "gan: --out DIR is required" "$FV" gan --epochs 1
expect_fail bad-loss "bad or missing value for '--loss'" "$FV" gan --out "$TMP/e" --loss wgan
expect_fail bad-option "unknown option '--frobnicate'" "$FV" gan --out "$TMP/e" --frobnicate 1
expect_fail few-images "16 images, fewer than one batch of 32" "$FV" gan --out "$TMP/e" \
    --limit 16 --batch 32
expect_fail no-data "nowhere" "$FV" gan --out "$TMP/e" --data "$TMP/nowhere"
finish
