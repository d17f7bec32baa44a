#!/bin/sh
# setup.sh - installs what fovea needs on Debian 12 (build tools, libraries, the Fashion-MNIST
# package). Installs only what is missing, so a second run does nothing. Run as root (or via sudo).
set -eu

PKGS="build-essential cmake clang libclang-rt-14-dev pkg-config zlib1g-dev libpng-dev libjpeg-dev libcjson-dev libcairo2-dev fonts-dejavu-core valgrind"
PKGS="$PKGS dataset-fashion-mnist"
[ "${FV_SETUP_EXTRA:-}" ] && PKGS="$PKGS $FV_SETUP_EXTRA"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
