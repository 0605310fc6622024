#!/bin/sh
# Installs the Debian packages sidik's build and tests need, and nothing else.
#
# Safe to run any number of times: packages already installed are skipped, and
# `apt-get update` runs only when something is actually missing, so a machine
# that has everything never touches the network.
set -eu

# libclang-rt-14-dev holds libFuzzer and clang's sanitizer runtimes, which
# `make fuzz` links; the clang package only recommends it, and the install
# below skips recommendations, so it is named here.
PACKAGES="
cmake
gcc
clang
libclang-rt-14-dev
pkg-config
libuv1-dev
liburing-dev
liblmdb-dev
libprotobuf-c-dev
protobuf-c-compiler
libssl-dev
libnghttp2-dev
libjemalloc-dev
libcmocka-dev
openssl
python3-grpcio
python3-grpc-tools
python3-protobuf
"

missing=""
for p in $PACKAGES; do
    # dpkg-query prints "install ok installed" only for a fully installed package;
    # half-configured or removed-but-config-kept states count as missing.
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all $(echo $PACKAGES | wc -w) packages present"
    exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
$SUDO apt-get install -y -q --no-install-recommends $missing
