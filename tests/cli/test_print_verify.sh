#!/bin/sh
# `sidik print verify` refuses what is not a valid authorisation, each
# with its exit code and reason: a wrong command line or key (2), files
# that are missing, empty, not an authorisation message, or too large (1,
# one INVALID line each, the other files still checked). Valid ones are
# checked against a live sidikd's in tests/integration/print_station.py.
set -u
sidik=$1
subcommand=print
. "$(dirname "$0")/lib.sh"

openssl genpkey -algorithm ed25519 -out "$tmp/k.key" 2>/dev/null
openssl pkey -in "$tmp/k.key" -pubout -out "$tmp/k.pub" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.key" 2>/dev/null
printf 'not protobuf at all \377\377\377' > "$tmp/garbage.pb"
: > "$tmp/empty.pb"
head -c 70000 /dev/zero > "$tmp/huge.pb"

run --help
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^Exit codes"; check "print --help documents exit codes" $?
run verify --help
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^Example"; check "print verify --help has an example" $?
refused "no subcommand" 2 "$("$sidik" print 2>&1 >/dev/null)"
refused "an unknown subcommand" 2 "sidik print: unknown subcommand 'sign'; see 'sidik print --help'" sign
refused "no key" 2 "sidik print verify: needs --key PUBLIC.pem and at least one FILE; see --help" \
    verify "$tmp/empty.pb"
refused "no file" 2 "sidik print verify: needs --key PUBLIC.pem and at least one FILE; see --help" \
    verify --key "$tmp/k.pub"
refused "an unknown option" 2 "sidik print verify: unknown option '--json'; see --help" \
    verify --json --key "$tmp/k.pub" "$tmp/empty.pb"
run verify --key "$tmp/ec.key" "$tmp/empty.pb"
[ "$rc" -eq 2 ] && echo "$err" | grep -q "not an Ed25519 key"; check "a P-256 key is refused (exit $rc)" $?
run verify --key "$tmp/garbage.pb" "$tmp/empty.pb"
[ "$rc" -eq 2 ] && echo "$err" | grep -q "not a PEM public or private key"; check "a file that is not a key is refused (exit $rc)" $?
run verify --key "$tmp/nothing.pub" "$tmp/empty.pb"
[ "$rc" -eq 2 ] && echo "$err" | grep -q "No such file"; check "a missing key file is refused (exit $rc)" $?

run verify --key "$tmp/k.pub" "$tmp/garbage.pb" "$tmp/empty.pb" "$tmp/missing.pb" "$tmp/huge.pb"
[ "$rc" -eq 1 ]; check "bad files: exit 1 (got $rc)" $?
echo "$out" | grep -qx "$tmp/garbage.pb: INVALID: not a PrintAuthorisation message"; check "garbage named" $?
echo "$out" | grep -qx "$tmp/empty.pb: INVALID: cannot read it: empty"; check "an empty file named" $?
echo "$out" | grep -qx "$tmp/missing.pb: INVALID: cannot read it: No such file or directory"; check "a missing file named" $?
echo "$out" | grep -qx "$tmp/huge.pb: INVALID: cannot read it: larger than any authorisation"; check "an oversized file named" $?
# A message whose payload is not signed: field 5 (payload) and 6 (64-byte signature).
printf '\052\003abc\062\100' > "$tmp/unsigned.pb"
head -c 64 /dev/zero >> "$tmp/unsigned.pb"
run verify --key "$tmp/k.key" "$tmp/unsigned.pb"
[ "$rc" -eq 1 ] && echo "$out" | grep -qx "$tmp/unsigned.pb: INVALID: the signature does not verify with this key"
check "an unsigned payload is INVALID (a private key's file serves as the public key)" $?
exit $fail
