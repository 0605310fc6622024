#!/bin/sh
# Ingest.UploadChunks live against a stock Python grpcio client
# (upload_chunks.py): an enrollment cut after half of its chunks resumes on
# a new channel from what the server holds and gets the receipt Status.Get
# and a resend show; an admin is refused; /metrics counts the chunks (9: 3,
# a probe, 3, a resend, a bad id) and holds no staged bytes after; a
# restart drops a staged prefix (the office starts that one again) but
# nothing acknowledged.
#   test_upload_chunks.sh SIDIKD SIDIK SOURCE_DIR
set -u
sidikd=$1
sidik=$2
src=$3
. "$src/tests/integration/live.sh"
live_setup
"$sidik" gen --persons 2 --reenroll-rate 0 --out gen >/dev/null 2>&1
live_conf
live_start
py="$src/tests/integration/upload_chunks.py"

/usr/bin/python3 "$py" resume "$src/proto" pki "$port" gen/records.iso state.json
check "chunks cut, resumed on a new channel, receipt as Status shows; admin refused" $?

/usr/bin/python3 - "$mport" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
v = {l.split(" ")[0]: float(l.split(" ")[1]) for l in text.splitlines() if l and not l.startswith("#")}
ok = v.get("sidik_upload_chunks_total", 0) == 9 and v.get("sidik_upload_staged_bytes") == 0
sys.exit(0 if ok else f"metrics: chunks {v.get('sidik_upload_chunks_total')} "
                      f"staged {v.get('sidik_upload_staged_bytes')}")
PY
check "GET /metrics counts the chunks; nothing staged once done" $?

/usr/bin/python3 "$py" stage "$src/proto" pki "$port" gen/records.iso state.json
check "half an enrollment staged" $?
live_stop
rc=$?
[ "$rc" -eq 0 ]; check "SIGTERM stops it with status 0 (got $rc)" $?
: > log
live_start
/usr/bin/python3 "$py" after-restart "$src/proto" pki "$port" state.json
check "after a restart: staged prefix gone, acknowledged receipt kept" $?
live_stop
[ $fail -eq 0 ] || cat log
exit $fail
