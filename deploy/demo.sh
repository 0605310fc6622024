#!/bin/sh
# `make demo`, as far as the project honestly goes today: the build works and
# `sidik version` shows every linked library and the SIMD level this CPU gets.
# It grows into the full pipeline demonstration as the server lands.
set -eu
build=${1:-build}
echo "== sidik version"
"$build/bin/sidik" version
echo
echo "sidikd's ingest service is not built yet; see README.md for what works today."
