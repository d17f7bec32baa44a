#!/bin/sh
# run_gemm.sh - SGEMM GFLOP/s, fovea vs OpenBLAS (one thread each), with the machine's measured
# fp32 peak. Usage: bench/run_gemm.sh [SIZE...]. Needs a build (make build) and, for the
# comparison, Debian's libopenblas0-pthread.
set -eu
cd "$(dirname "$0")/.."
[ -x build/bench_gemm ] || make build >/dev/null
unset OPENBLAS_CORETYPE # the environment may pin OpenBLAS to its AVX2 kernels
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), gcc $(gcc -dumpversion)," \
    "OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo absent)"
./build/bench_gemm "$@"
