#!/bin/sh
# sidikd --check-config: the documented example with a dev PKI passes and
# prints the settings in force; a bad line is named with its number; missing
# or mismatched TLS files are refused with what to do.
set -u
sidikd=$1
srcdir=$2
subcommand=
. "$(dirname "$0")/lib.sh"
sh "$srcdir/deploy/pki.sh" "$tmp/pki" >/dev/null

sed "s#./var/pki#$tmp/pki#" "$srcdir/deploy/sidikd.conf" > "$tmp/ok.conf"
out=$("$sidikd" --config "$tmp/ok.conf" --check-config); rc=$?
check "example config with dev PKI passes (rc $rc)" $rc
echo "$out" | grep -q "^max_message_bytes = 4194304$"; check "prints the settings in force" $?
echo "$out" | grep -q "^idle_timeout = 300000ms$"; check "durations in ms" $?

printf 'io_threads = 4\nmax_streams = 0\n' >> "$tmp/ok.conf"
out=$("$sidikd" --config "$tmp/ok.conf" --check-config 2>&1); rc=$?
[ $rc -eq 2 ]; check "out-of-range value exits 2 (got $rc)" $?
echo "$out" | grep -q "ok.conf:[0-9]*: key set twice"; check "repeated key named with its line" $?

printf 'max_streams = 0\n' > "$tmp/range.conf"
out=$("$sidikd" --config "$tmp/range.conf" --check-config 2>&1); rc=$?
[ $rc -eq 2 ]; check "range error exits 2" $?
echo "$out" | grep -q "range.conf:1: value outside the key's range"; check "range error names line 1" $?

out=$("$sidikd" --config "$tmp/missing.conf" --check-config 2>&1); rc=$?
[ $rc -eq 2 ]; check "missing config exits 2" $?
echo "$out" | grep -q "cannot open the config file"; check "missing config explained" $?

printf 'tls_cert = %s/pki/admin.crt\ntls_ca = %s/pki/ca.crt\ntls_key = %s/pki/server.key\n' \
    "$tmp" "$tmp" "$tmp" > "$tmp/mismatch.conf"
out=$("$sidikd" --config "$tmp/mismatch.conf" --check-config 2>&1); rc=$?
[ $rc -eq 1 ]; check "key of another certificate exits 1 (got $rc)" $?
echo "$out" | grep -q "server key does not match its certificate"; check "mismatch explained" $?

out=$(cd "$tmp" && "$sidikd" --check-config 2>&1); rc=$?
[ $rc -eq 1 ]; check "defaults without ./var/pki exit 1" $?
echo "$out" | grep -q "deploy/pki.sh DIR makes a development set"; check "says how to make certificates" $?

"$sidikd" --config >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; check "--config without a file exits 2" $?
exit $fail
