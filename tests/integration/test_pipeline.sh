#!/bin/sh
# The pipeline live: four offices upload the same five persons at the same
# instant (simultaneous.py): exactly one enrollment of each is PRINT_READY.
#   test_pipeline.sh SIDIKD SIDIK SOURCE_DIR
set -u
sidikd=$1
sidik=$2
src=$3
. "$src/tests/integration/live.sh"
live_setup
sh "$src/deploy/pki.sh" pki >/dev/null
for o in SBY-03 MDN-04; do sh "$src/deploy/pki.sh" pki client office "$o" >/dev/null; done
"$sidik" gen --persons 5 --reenroll-rate 0 --out gen >/dev/null 2>&1
live_conf
live_start
/usr/bin/python3 "$src/tests/integration/simultaneous.py" "$src/proto" pki "$port" \
    gen/records.iso JKT-01 BDG-02 SBY-03 MDN-04
check "simultaneous duplicates from four offices: one UNIQUE each" $?
live_stop
rc=$?
[ "$rc" -eq 0 ]; check "SIGTERM stops it with status 0 (got $rc)" $?
[ $fail -eq 0 ] || cat log
exit $fail
