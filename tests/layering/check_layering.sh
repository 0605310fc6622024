#!/bin/sh
# Proves the matcher target cannot see storage or server headers: a probe
# that includes only matcher/common headers compiles, and probes including a
# storage or a server header fail with "No such file" for that header.
set -u
cmake=$1
build=$2
fail=0

if ! out=$("$cmake" --build "$build" --target layering_probe_ok 2>&1); then
    echo "control probe failed to compile; the check would prove nothing:"
    echo "$out"
    exit 1
fi

for probe in storage:sidik/crc32c.h server:sidik/grpc_frame.h; do
    target=layering_probe_${probe%%:*}
    header=${probe#*:}
    if out=$("$cmake" --build "$build" --target "$target" 2>&1); then
        echo "FAIL: $target compiled: matcher can include $header"
        fail=1
    elif ! echo "$out" | grep -q "$header: No such file"; then
        echo "FAIL: $target failed for another reason than the missing header:"
        echo "$out"
        fail=1
    else
        echo "ok: matcher cannot include $header"
    fi
done
exit $fail
