#!/bin/sh
# The pipeline live: four offices upload the same five persons at the same
# instant (simultaneous.py): exactly one enrollment of each is PRINT_READY.
# A person waiting for review is searched until adjudicated (review_hold.py):
# a second capture meanwhile waits beside them instead of being printed.
# Before it starts, 50 persons of another population are preloaded
# (`sidik preload`): a re-capture of one of them is a DUPLICATE. Then the
# gallery's disk fills (SIDIK_DRILL_GALLERY_FULL) and empties again
# (gallery_full.py): uploads refused meanwhile, nothing taken lost.
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
"$sidik" gen --persons 50 --reenroll-rate 0 --seed 99 --out old >/dev/null 2>&1
"$sidik" gen --persons 8 --impressions 2 --reenroll-rate 0 --seed 99 --out again >/dev/null 2>&1
"$sidik" gen --persons 2 --reenroll-rate 0 --seed 77 --out fresh >/dev/null 2>&1
"$sidik" gen --persons 3 --impressions 3 --reenroll-rate 0 --seed 55 --out held >/dev/null 2>&1
live_conf
"$sidik" preload --data data --records old/records.iso >/dev/null
check "50 persons preloaded" $?
export SIDIK_DRILL_GALLERY_FULL="$PWD/gallery-full"
live_start
grep -q 'msg="dedup stage open" gallery=50 ' log; check "sidikd searches the 50 preloaded" $?
/usr/bin/python3 - "$src" pki "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/tests/integration")
from sidik_client import channel, enrollment, load_stubs, records, wait_decided
pb, rpc = load_stubs(sys.argv[1] + "/proto")
chan = channel(sys.argv[2], sys.argv[3], "office-JKT-01")
e = enrollment(pb, records("again/records.iso")[15], 4242)  # person 7, second capture
list(rpc.IngestStub(chan).Upload(iter([e]), timeout=20))
st = wait_decided(pb, rpc.StatusStub(chan), [e.enrollment_id], timeout=30)[e.enrollment_id]
sys.exit(0 if st.status == pb.DUPLICATE else f"status {pb.EnrollmentStatus.Name(st.status)}")
PY
check "a re-capture of a preloaded person is a DUPLICATE" $?
/usr/bin/python3 "$src/tests/integration/simultaneous.py" "$src/proto" pki "$port" \
    gen/records.iso JKT-01 BDG-02 SBY-03 MDN-04
check "simultaneous duplicates from four offices: one UNIQUE each" $?
/usr/bin/python3 "$src/tests/integration/review_hold.py" "$src/proto" pki "$port" held/records.iso
check "a person waiting for review is searched until adjudicated" $?
/usr/bin/python3 "$src/tests/integration/gallery_full.py" "$src/proto" pki "$port" "$mport" \
    fresh/records.iso "$PWD/gallery-full" log
check "a full gallery disk pauses the dedup stage and refuses uploads; emptied, it resumes" $?
live_stop
rc=$?
[ "$rc" -eq 0 ]; check "SIGTERM stops it with status 0 (got $rc)" $?
[ $fail -eq 0 ] || cat log
exit $fail
