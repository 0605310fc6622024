#!/bin/sh
# HTTP/2 floods and stream abuse against a live sidikd (h2_floods.py says
# what it checks): each abuser is cut, another office is served throughout.
#   test_h2_floods.sh SIDIKD SOURCE_DIR
set -u
sidikd=$1
src=$2
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$tmp"
sh "$src/deploy/pki.sh" pki >/dev/null || { echo "FAIL: pki.sh"; exit 1; }
cat > sidikd.conf <<CONF
listen = 127.0.0.1:0
metrics_listen = 127.0.0.1:0
tls_ca = pki/ca.crt
tls_cert = pki/server.crt
tls_key = pki/server.key
data_dir = data
io_threads = 2
max_streams = 8
CONF
"$sidikd" --config sidikd.conf 2> log &
pid=$!
port=
for _ in $(seq 1 100); do
    port=$(grep -o 'msg="listening".*port=[0-9]*' log 2>/dev/null | grep -o 'port=[0-9]*' | cut -d= -f2)
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "FAIL: sidikd did not start"
    cat log
    exit 1
fi
/usr/bin/python3 "$src/tests/integration/h2_floods.py" "$src/proto" pki "$port" 8 log
rc=$?
kill -TERM "$pid"
wait "$pid"
stop=$?
pid=
[ $stop -eq 0 ] || { echo "FAIL: sidikd exited $stop after SIGTERM"; rc=1; }
[ $rc -eq 0 ] || { echo "sidikd log (warn and above):"; grep -E 'level=(warn|error)' log | head -20; }
exit $rc
