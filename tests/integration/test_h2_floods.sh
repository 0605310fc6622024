#!/bin/sh
# HTTP/2 floods and stream abuse against a live sidikd (h2_floods.py says
# what it checks): each abuser is cut, another office is served throughout.
#   test_h2_floods.sh SIDIKD SOURCE_DIR
set -u
sidikd=$1
src=$2
. "$src/tests/integration/live.sh"
live_setup
live_conf "io_threads = 2" "max_streams = 8"
live_start
/usr/bin/python3 "$src/tests/integration/h2_floods.py" "$src/proto" pki "$port" 8 log
rc=$?
live_stop
stop=$?
[ $stop -eq 0 ] || { echo "FAIL: sidikd exited $stop after SIGTERM"; rc=1; }
[ $rc -eq 0 ] || { echo "sidikd log (warn and above):"; grep -E 'level=(warn|error)' log | head -20; }
exit $rc
