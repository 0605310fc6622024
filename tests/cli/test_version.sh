#!/bin/sh
# `sidik version` names every linked library and the SIMD level, and the
# SIDIK_SIMD override is honoured or refused with a clear message.
set -u
sidik=$1
sidikd=$2
subcommand=
. "$(dirname "$0")/lib.sh"

out=$("$sidik" version); rc=$?
check "sidik version exits 0" $rc
for lib in sidik libuv liburing LMDB protobuf-c OpenSSL nghttp2 allocator SIMD; do
    echo "$out" | grep -q "^$lib " ; check "version lists $lib" $?
done

out=$(SIDIK_SIMD=scalar "$sidik" version); rc=$?
check "SIDIK_SIMD=scalar accepted" $rc
echo "$out" | grep -q "^SIMD *scalar " ; check "SIDIK_SIMD=scalar is the level used" $?

out=$(SIDIK_SIMD=bogus "$sidik" version 2>&1); rc=$?
[ $rc -eq 1 ]; check "SIDIK_SIMD=bogus exits 1 (got $rc)" $?
echo "$out" | grep -q "must be one of scalar, sse42, avx2, avx512"; check "bogus level explained" $?

"$sidik" version extra >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; check "stray argument exits 2 (got $rc)" $?
"$sidik" no-such-command >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; check "unknown command exits 2 (got $rc)" $?

"$sidikd" --version | grep -q "^sidikd "; check "sidikd --version" $?
exit $fail
