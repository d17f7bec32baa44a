#!/bin/bash
# test_cli_gan.sh - `fovea gan`: a few DCGAN steps on Fashion-MNIST write the per-epoch sample
# grids, history.csv (a row per epoch), the curves, the latent interpolation grid, the report and
# G's and D's weights; the same seed gives the same weights, another loss other ones; --data mnist
# reads data/mnist; bad options and too little data fail with one line. Usage: test_cli_gan.sh FOVEA
# SRC_DIR [PNGCHECK]
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist

expect_ok gan "$FV" gan --out "$TMP/a" --limit 32 --batch 16 --epochs 2 --latent 16 --seed 3
check files test -f "$TMP/a/G.safetensors" -a -f "$TMP/a/D.safetensors" -a -f "$TMP/a/history.csv"
check history-header grep -q "^epoch,loss_d,loss_g,d_real,d_fake$" "$TMP/a/history.csv"
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

expect_fail no-out "gan: --out DIR is required" "$FV" gan --epochs 1
expect_fail bad-loss "bad or missing value for '--loss'" "$FV" gan --out "$TMP/e" --loss wgan
expect_fail bad-option "unknown option '--frobnicate'" "$FV" gan --out "$TMP/e" --frobnicate 1
expect_fail few-images "16 images, fewer than one batch of 32" "$FV" gan --out "$TMP/e" \
    --limit 16 --batch 32
expect_fail no-data "nowhere" "$FV" gan --out "$TMP/e" --data "$TMP/nowhere"
finish
