#!/bin/sh
# `make demo`, as far as the project honestly goes today: the build works,
# `sidik version` shows every linked library and the SIMD level this CPU gets,
# and `sidik eval` measures the matcher on real fingerprint templates.
# It grows into the full pipeline demonstration as the server lands.
set -eu
build=${1:-build}
echo "== sidik version"
"$build/bin/sidik" version
echo
data="$(dirname "$0")/../../shared/data/fvc2002"
if [ -d "$data" ]; then
    echo "== sidik eval $data  (FVC protocol on 320 real ISO 19794-2 templates)"
    "$build/bin/sidik" eval "$data"
else
    echo "(no FVC2002 templates at $data: skipping sidik eval)"
fi
echo
echo "sidikd's ingest service is not built yet; see README.md for what works today."
