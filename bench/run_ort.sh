#!/bin/sh
# run_ort.sh - inference of torchvision's networks exported to ONNX: fovea (its ONNX import of the
# file) against ONNX Runtime (onnxruntime-node, CPU provider) and PyTorch (the same network), at
# batch 1 and 16, for each thread count, alternated launches, medians and ratios.
# Usage: bench/run_ort.sh [ROUNDS] [THREADS...]   (ROUNDS 5, THREADS "1 2" by default)
# Environment: NETS (default: resnet18 resnet50 vgg16 googlenet mobilenet_v2), AVX2=1 adds a
# fovea column forced to its AVX2+FMA kernels (FOVEA_ISA=avx2); PASSES1, PASSES16 (timed passes
# at batch 1 and 16, default 9 and 3) and WARMUP16 (warm-up passes at batch 16, default 2; 2 at
# batch 1); CLOCK=cpu times each side's process CPU time instead of wall time (one thread only:
# on a machine loaded by other work, wall time counts the others' turns). PyTorch runs
# channels_last at batch 16 and NCHW at batch 1, its faster layout at each (measured on Zen 4:
# channels_last 1.1-1.7x at 16, 0.5-0.6x at 1). Installs onnxruntime-node and
# onnxruntime-common 1.30.0 from npm into build/ort-node (git-ignored; the benchmark's own step,
# never the tests' or CI's) and exports the networks into build/ort-models with Debian's PyTorch.
# Needs a release build (make build), node and npm, python3-torch, python3-torchvision,
# python3-onnx, libtcmalloc-minimal4.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
shift 1 2>/dev/null || shift $#
THREADS=${*:-1 2}
NETS=${NETS:-resnet18 resnet50 vgg16 googlenet mobilenet_v2}
ORT=${ORT_DIR:-build/ort-node} MODELS=${MODELS_DIR:-build/ort-models} ORT_VERSION=1.30.0
if [ ! -f "$ORT/node_modules/onnxruntime-node/package.json" ]; then
    mkdir -p "$ORT/node_modules"
    (cd "$ORT" && npm pack --silent "onnxruntime-node@$ORT_VERSION" "onnxruntime-common@$ORT_VERSION" >/dev/null)
    for p in onnxruntime-common onnxruntime-node; do
        mkdir -p "$ORT/node_modules/$p"
        tar xzf "$ORT/$p-$ORT_VERSION.tgz" -C "$ORT/node_modules/$p" --strip-components=1
        rm -f "$ORT/$p-$ORT_VERSION.tgz"
    done
fi
for net in $NETS; do
    [ -f "$MODELS/$net.onnx" ] || /usr/bin/python3 bench/export_onnx.py "$MODELS" "$net" >/dev/null
done
unset OPENBLAS_CORETYPE # PyTorch's best (see run_infer.sh): OpenBLAS's own kernels, tcmalloc
# PyTorch's BLAS: Debian's torch calls the system libblas.so.3, the reference BLAS unless
# libopenblas0-pthread is installed (3x slower at batch 1, where torch's 1x1 convolutions and fc
# layers go to BLAS). OPENBLAS_DIR (default build/openblas) may hold that package's
# openblas-pthread libraries instead (`apt-get download libopenblas0-pthread`, `dpkg-deb -x`),
# put on PyTorch's LD_LIBRARY_PATH alone.
OPENBLAS_DIR=${OPENBLAS_DIR:-build/openblas}
TORCH_LIBS=
if [ -f "$OPENBLAS_DIR/libblas.so.3" ]; then
    TORCH_LIBS="$PWD/$OPENBLAS_DIR" torch_blas="OpenBLAS ($OPENBLAS_DIR)"
else
    torch_blas="the system's libblas.so.3 ($(readlink -f "$(ldconfig -p | awk '/libblas.so.3 /{print $NF; exit}')"))"
fi
TCMALLOC=$(ls /usr/lib/*/libtcmalloc_minimal.so.4 2>/dev/null | head -1)
[ -n "$TCMALLOC" ] || { echo "$0: install libtcmalloc-minimal4 (PyTorch's allocator)" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1 NODE_PATH="$PWD/$ORT/node_modules"
if [ "${CLOCK:-wall}" = cpu ]; then
    for th in $THREADS; do
        [ "$th" = 1 ] || { echo "$0: CLOCK=cpu measures one thread only" >&2; exit 2; }
    done
    export BENCH_CLOCK=cpu
fi
# The ISA levels: fovea's dispatch level; MLAS picks its kernels from the CPU's features
# (AVX-512F: its AVX-512 kernels, else AVX2+FMA), which cpuinfo tells.
echo "fovea: $(./build/fovea --version | grep -E "^(isa|kernels):" | tr "\n" " ")"
grep -qw avx512f /proc/cpuinfo && mlas=avx512 || mlas="avx2 (or lower)"
echo "onnxruntime $ORT_VERSION (MLAS): $mlas; cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "pytorch: BLAS $torch_blas"
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
printf "%-13s %5s %7s %10s %10s %10s %7s %7s" network batch threads fovea ort torch f/ort f/torch
[ "${AVX2:-0}" = 0 ] || printf " %10s %7s" fovea_avx2 a2/ort
echo
for net in $NETS; do
    for batch in 1 16; do
        passes=$([ "$batch" = 1 ] && echo "${PASSES1:-9}" || echo "${PASSES16:-3}")
        export BENCH_WARMUP=$([ "$batch" = 1 ] && echo 2 || echo "${WARMUP16:-2}")
        layout=$([ "$batch" = 1 ] || echo channels_last)
        for th in $THREADS; do
            F=$(mktemp) O=$(mktemp) T=$(mktemp) A=$(mktemp)
            for r in $(seq "$ROUNDS"); do
                ./build/bench_infer "$MODELS/$net.onnx" "$batch" "$th" "$passes" | awk '{print $2}' >>"$F"
                node bench/ort_infer.js "$MODELS/$net.onnx" "$batch" "$th" "$passes" | awk '{print $2}' >>"$O"
                OMP_NUM_THREADS=$th LD_LIBRARY_PATH=$TORCH_LIBS LD_PRELOAD=$TCMALLOC \
                    /usr/bin/python3 bench/torch_infer.py \
                    "$net" "$batch" "$th" "$passes" $layout 2>/dev/null | awk '{print $2}' >>"$T"
                [ "${AVX2:-0}" = 0 ] || FOVEA_ISA=avx2 ./build/bench_infer "$MODELS/$net.onnx" \
                    "$batch" "$th" "$passes" | awk '{print $2}' >>"$A"
            done
            f=$(median <"$F") o=$(median <"$O") t=$(median <"$T")
            printf "%-13s %5d %7d %10s %10s %10s %7s %7s" "$net" "$batch" "$th" "$f" "$o" "$t" \
                "$(ratio "$f" "$o")" "$(ratio "$f" "$t")"
            [ "${AVX2:-0}" = 0 ] || { a=$(median <"$A"); printf " %10s %7s" "$a" "$(ratio "$a" "$o")"; }
            echo
            rm -f "$F" "$O" "$T" "$A"
        done
    done
done
