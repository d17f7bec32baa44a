#!/bin/sh
# get-onnxruntime.sh - fetches ONNX Runtime for Node (npm onnxruntime-node and onnxruntime-common
# 1.30.0, pinned and checked by SHA-256) into data/onnxruntime/node_modules, where the ONNX export
# test (tests/cli/test_onnx_export.sh, through tests/onnx/ort_run.js) finds it to run fovea's
# exports. npm pack only downloads: no install script runs (the CPU binding ships in the package).
# Optional: without it the test checks the files with onnx.checker only.
set -eu
cd "$(dirname "$0")/.."
DEST=data/onnxruntime/node_modules
VER=1.30.0
SHA_NODE=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
SHA_COMMON=7906c439e0d3e0f4048caa23b64cdfadc0f455c377f579ce1ab2a4b778f07d5f
if [ -f "$DEST/onnxruntime-node/package.json" ] && [ -f "$DEST/onnxruntime-common/package.json" ]; then
    echo "get-onnxruntime: $DEST already present"
    exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "get-onnxruntime: npm not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-node@$VER" "onnxruntime-common@$VER" >/dev/null)
echo "$SHA_NODE  $tmp/onnxruntime-node-$VER.tgz" | sha256sum -c --quiet -
echo "$SHA_COMMON  $tmp/onnxruntime-common-$VER.tgz" | sha256sum -c --quiet -
mkdir -p "$DEST"
for p in node common; do
    mkdir -p "$tmp/$p"
    tar xzf "$tmp/onnxruntime-$p-$VER.tgz" -C "$tmp/$p"
    rm -rf "$DEST/onnxruntime-$p"
    mv "$tmp/$p/package" "$DEST/onnxruntime-$p"
done
echo "get-onnxruntime: ONNX Runtime $VER for Node is in $DEST"
