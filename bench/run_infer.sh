#!/bin/sh
# run_infer.sh - inference throughput of zoo networks at their input size, fovea vs PyTorch (the
# same network: torchvision's, or torch_infer.py's definition where torchvision lacks it),
# alternated launches, medians and ratios. Usage: bench/run_infer.sh [THREADS] [ROUNDS] [NETS...|all]
# Needs a release build (make build), python3-torch, python3-torchvision, libtcmalloc-minimal4.
set -eu
cd "$(dirname "$0")/.."
THREADS=${1:-2} ROUNDS=${2:-3}
shift 2 2>/dev/null || shift $#
NETS=${*:-resnet18 resnet50 vgg16 mobilenet_v2 googlenet alexnet}
# all: every network of the zoo, less the aliases of VGG's configurations (vgg_a/b/d/e)
[ "$NETS" != all ] || NETS=$(./build/fovea zoo | awk 'NF == 4 && NR > 1 && $1 !~ /^vgg_[abde]$/ {print $1}')
unset OPENBLAS_CORETYPE
# tcmalloc: glibc's malloc returns PyTorch's large activations to the kernel after every pass
# (mmap/munmap, page faults: PyTorch at batch 16 was slower than at batch 1); PyTorch's own
# performance guide recommends tcmalloc or jemalloc, and tcmalloc is the faster of the two here.
TCMALLOC=$(ls /usr/lib/*/libtcmalloc_minimal.so.4 2>/dev/null | head -1)
[ -n "$TCMALLOC" ] || { echo "$0: install libtcmalloc-minimal4 (PyTorch's allocator)" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$THREADS
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
printf "%-14s %5s %12s %12s %7s\n" network batch fovea_img/s torch_img/s ratio
for net in $NETS; do
    for batch in 1 16; do
        passes=$([ "$batch" = 1 ] && echo 9 || echo 3)
        F=$(mktemp) T=$(mktemp)
        for r in $(seq "$ROUNDS"); do
            ./build/bench_infer "$net" "$batch" "$THREADS" "$passes" | awk '{print $2}' >>"$F"
            LD_PRELOAD=$TCMALLOC /usr/bin/python3 bench/torch_infer.py "$net" "$batch" "$THREADS" "$passes" 2>/dev/null |
                awk '{print $2}' >>"$T"
        done
        f=$(median <"$F") t=$(median <"$T")
        printf "%-14s %5d %12s %12s %7.2f\n" "$net" "$batch" "$f" "$t" "$(echo "$f $t" | awk '{print $1/$2}')"
        rm -f "$F" "$T"
    done
done
