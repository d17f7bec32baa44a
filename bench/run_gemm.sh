#!/bin/sh
# run_gemm.sh - SGEMM GFLOP/s, fovea vs OpenBLAS (one thread each), with the machine's measured
# fp32 peak. Usage: bench/run_gemm.sh [--trans] [--conv] [--reps N] [SIZE... | OPxMxNxK...]
# (bench_gemm.c says what each prints). BUILD=dir picks the build directory (default build,
# made with make build if it lacks bench_gemm). Needs Debian's libopenblas0-pthread for the
# comparison.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ -x "$BUILD/bench_gemm" ] || make build >/dev/null
unset OPENBLAS_CORETYPE # the environment may pin OpenBLAS to its AVX2 kernels
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), gcc $(gcc -dumpversion)," \
    "OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo absent)"
"./$BUILD/bench_gemm" "$@"
