#!/bin/sh
# run_train.sh - training throughput, fovea vs PyTorch, alternated launches, medians and ratio.
# Usage: bench/run_train.sh [MODEL.fv] [BATCH] [THREADS] [STEPS] [ROUNDS]
# Needs a release build (make build), python3-torch (python3-torchvision for resnet18_cifar)
# and libtcmalloc-minimal4.
set -eu
cd "$(dirname "$0")/.."
MODEL=${1:-models/lenet5.fv} BATCH=${2:-64} THREADS=${3:-1} STEPS=${4:-200} ROUNDS=${5:-5}
# PyTorch's best settings: AVX-512 OpenBLAS kernels, no thread oversubscription.
unset OPENBLAS_CORETYPE
# tcmalloc: glibc's malloc returns PyTorch's large activations to the kernel after every pass
# (mmap/munmap, page faults: PyTorch at batch 16 was slower than at batch 1); PyTorch's own
# performance guide recommends tcmalloc or jemalloc, and tcmalloc is the faster of the two here.
TCMALLOC=$(ls /usr/lib/*/libtcmalloc_minimal.so.4 2>/dev/null | head -1)
[ -n "$TCMALLOC" ] || { echo "$0: install libtcmalloc-minimal4 (PyTorch's allocator)" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$THREADS
F=$(mktemp) T=$(mktemp)
trap 'rm -f "$F" "$T"' EXIT
for r in $(seq "$ROUNDS"); do
    ./build/bench_train "$MODEL" "$BATCH" "$STEPS" "$THREADS" >>"$F"
    LD_PRELOAD=$TCMALLOC /usr/bin/python3 bench/torch_train.py "$MODEL" "$BATCH" "$THREADS" "$STEPS" >>"$T"
done
median() { awk '{print $2}' "$1" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
spread() { awk '{print $2}' "$1" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s-%s", lo, hi}'; }
rss() { awk '{print $4}' "$1" | sort -g | tail -1; }
fm=$(median "$F") tm=$(median "$T")
echo "model $MODEL batch $BATCH threads $THREADS steps $STEPS rounds $ROUNDS"
echo "fovea   images/s median $fm (range $(spread "$F")) peak RSS $(rss "$F") kB"
echo "pytorch images/s median $tm (range $(spread "$T")) peak RSS $(rss "$T") kB"
awk -v f="$fm" -v t="$tm" 'BEGIN {printf "ratio fovea/pytorch %.2f\n", f / t}'
