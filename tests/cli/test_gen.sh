#!/bin/sh
# `sidik gen`: the command line (every refusal with its exact exit code and
# message), the output folder's hostile cases, byte-identical reruns at any
# thread count, truth.csv against the records (offsets, lengths, views,
# persons, re-enrollments), every record through the real decoder (as
# `sidik eval` templates), and --calibrate's shape. Calibration figures are
# not asserted: they are a tuning result, reported by the tool itself.
#
# usage: test_gen.sh SIDIK DATA_DIR   (DATA_DIR holds the FVC2002 DB1_B..DB4_B)
set -u
sidik=$1
data=$2
subcommand=gen
. "$(dirname "$0")/lib.sh"

usage="usage: sidik gen --persons N --out DIR [--seed S] [--impressions K] [--reenroll-rate R]
                 [--threads T] [--force]
       sidik gen --calibrate [--persons N] [--seed S] [--simd LEVEL] [PATH]"
# a usage refusal: the message, then the usage lines
bad() { # description, message, ARGS...
    desc=$1 msg=$2
    shift 2
    refused "$desc" 2 "sidik gen: $msg
$usage" "$@"
}

# --- the command line ---------------------------------------------------
run --help
[ "$rc" -eq 0 ]; check "--help exits 0" $?
for word in records.iso truth.csv "record,offset,length,person,impression,kind,swapped,missing" \
    "self-delimiting" "ISO/IEC 19794-2:2005" "--reenroll-rate R" "--threads T" "--force" \
    "--calibrate" "--impressions K" "Exit codes" "docs/synthetic.md"; do
    printf "%s\n" "$out" | grep -qF -- "$word"; check "--help explains $word" $?
done

bad "no arguments" "--persons N missing"
bad "no --out" "--out DIR missing" --persons 5
bad "no --persons" "--persons N missing" --out "$tmp/x"
bad "unknown flag" "unknown option '--bogus'; 'sidik gen --help' lists them" --bogus
bad "unknown flag after good ones" "unknown option '-p'; 'sidik gen --help' lists them" \
    --persons 5 -p 3
bad "--persons without a value" "--persons needs a number" --out "$tmp/x" --persons
bad "--out without a value" "--out needs a folder" --persons 5 --out
bad "--out empty" "--out needs a folder" --persons 5 --out ""
range="is not a whole number from 1 to 1000000000"
for v in abc -5 0 1000000001 99999999999999999999999 "12 " " 12" +5 1.5 1e3 0x10 ""; do
    bad "--persons '$v'" "--persons: '$v' $range" --persons "$v" --out "$tmp/x"
done
bad "--persons=abc" "--persons: 'abc' $range" --persons=abc --out "$tmp/x"
bad "--seed -1" "--seed: '-1' is not a whole number from 0 to 18446744073709551615" \
    --persons 5 --out "$tmp/x" --seed -1
bad "--seed 2^64" \
    "--seed: '18446744073709551616' is not a whole number from 0 to 18446744073709551615" \
    --persons 5 --out "$tmp/x" --seed 18446744073709551616
for v in 0 101 x; do
    bad "--impressions $v" "--impressions: '$v' is not a whole number from 1 to 100" \
        --persons 5 --out "$tmp/x" --impressions "$v"
done
for v in 0 65 -2; do
    bad "--threads $v" "--threads: '$v' is not a whole number from 1 to 64" \
        --persons 5 --out "$tmp/x" --threads "$v"
done
for v in 1.5 -0.1 nan inf 1e-2 abc . 0.5.5 ""; do
    bad "--reenroll-rate '$v'" "--reenroll-rate: '$v' is not a number from 0 to 1" \
        --persons 5 --out "$tmp/x" --reenroll-rate "$v"
done
bad "a stray argument" "unexpected argument 'extra' (PATH goes with --calibrate)" \
    --persons 5 --out "$tmp/x" extra
bad "--simd without --calibrate" "--simd goes with --calibrate only" \
    --persons 5 --out "$tmp/x" --simd scalar
bad "--calibrate with --out" "--out does not go with --calibrate" --calibrate --out "$tmp/x"
bad "--calibrate with --threads" "--threads does not go with --calibrate" --calibrate --threads 2
bad "--calibrate with too many persons" "--persons: at most 1000 with --calibrate" \
    --calibrate --persons 1001
bad "--calibrate with two paths" "one PATH only, got 'a' and 'b'" --calibrate a b
bad "--calibrate --simd bogus" "--simd 'bogus': must be one of scalar, sse42, avx2, avx512" \
    --calibrate --simd bogus "$tmp"
[ ! -e "$tmp/x" ]; check "refused command lines create nothing" $?

# --- the output folder --------------------------------------------------
refused "--out under a missing folder" 1 \
    "sidik gen: $tmp/no/such: cannot create: No such file or directory" \
    --persons 5 --out "$tmp/no/such"
: >"$tmp/file"
refused "--out is a file" 1 "sidik gen: $tmp/file: not a folder" --persons 5 --out "$tmp/file"
# 10^11 records of at least 1,284 bytes: no disk holds that.
run --persons 1000000000 --impressions 100 --reenroll-rate 0 --out "$tmp/huge"
[ "$rc" -eq 1 ]; check "more than the disk holds: exits 1 (got $rc)" $?
case $err in
"sidik gen: $tmp/huge: needs at least 128400.0 GB, "*" GB free") check "more than the disk holds: says how much" 0 ;;
*) check "more than the disk holds: says how much (got '$err')" 1 ;;
esac
[ -z "$(ls -A "$tmp/huge")" ]; check "more than the disk holds: nothing written" $?
bad "impression numbers past 2^32" "--persons x --reenroll-rate x --impressions too large:\
 impression numbers would pass 2^32" --persons 1000000000 --reenroll-rate 1 --impressions 100 \
    --out "$tmp/x"
if [ "$(id -u)" -ne 0 ]; then # root writes anywhere
    mkdir "$tmp/ro"
    chmod 555 "$tmp/ro"
    refused "unwritable --out" 1 "sidik gen: $tmp/ro: cannot write: Permission denied" \
        --persons 5 --out "$tmp/ro"
    refused "--out under an unwritable folder" 1 \
        "sidik gen: $tmp/ro/sub: cannot create: Permission denied" --persons 5 --out "$tmp/ro/sub"
else
    echo "skip: running as root, so unwritable folders cannot be tested"
fi

run --persons 300 --seed 9 --out "$tmp/a" --reenroll-rate 0.1
[ "$rc" -eq 0 ]; check "300 persons: exits 0 (got $rc; $err)" $?
[ -z "$out" ]; check "300 persons: nothing on stdout" $?
printf "%s\n" "$err" | grep -qE "^sidik gen: 330 records \(300 persons, 30 re-enrollments, 1 impression each\), [0-9]+ bytes, in [0-9.]+ s on 2 threads: $tmp/a/records.iso, $tmp/a/truth.csv$"
check "300 persons: one summary line on stderr ($err)" $?
[ "$(ls -A "$tmp/a" | tr '\n' ' ')" = "records.iso truth.csv " ]
check "300 persons: DIR holds exactly records.iso and truth.csv" $?

refused "existing records.iso" 1 "sidik gen: $tmp/a/records.iso exists; --force overwrites it" \
    --persons 300 --seed 9 --out "$tmp/a"
mkdir "$tmp/c"
: >"$tmp/c/truth.csv"
refused "existing truth.csv" 1 "sidik gen: $tmp/c/truth.csv exists; --force overwrites it" \
    --persons 3 --out "$tmp/c"
[ "$(ls -A "$tmp/a" "$tmp/c" | grep -c '^\.')" -eq 0 ]
check "refusals leave no temporary files" $?

cp "$tmp/a/records.iso" "$tmp/a.iso"
run --persons 300 --seed 9 --out "$tmp/a" --reenroll-rate 0.1 --force
[ "$rc" -eq 0 ]; check "--force: exits 0 (got $rc; $err)" $?
cmp -s "$tmp/a/records.iso" "$tmp/a.iso"; check "--force rerun with the same seed: same bytes" $?

run --persons 300 --seed 9 --out "$tmp/b" --reenroll-rate 0.1 --threads 1
[ "$rc" -eq 0 ]; check "--threads 1: exits 0 (got $rc; $err)" $?
cmp -s "$tmp/a/records.iso" "$tmp/b/records.iso" && cmp -s "$tmp/a/truth.csv" "$tmp/b/truth.csv"
check "same seed, 1 thread and 2: byte-identical records.iso and truth.csv" $?
run --persons 300 --seed 9 --out "$tmp/t7" --reenroll-rate 0.1 --threads 7
cmp -s "$tmp/a/records.iso" "$tmp/t7/records.iso"; check "same seed, 7 threads: same bytes" $?
run --persons 300 --seed 10 --out "$tmp/d" --reenroll-rate 0.1
! cmp -s "$tmp/a/records.iso" "$tmp/d/records.iso"; check "another seed: other bytes" $?

# truth.csv against records.iso, and the plan's shape.
# args: DIR persons rate impressions
truth_ok() {
    /usr/bin/python3 - "$@" <<'EOF'
import csv, struct, sys
d, persons, rate, k = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
data = open(d + "/records.iso", "rb").read()
rows = list(csv.reader(open(d + "/truth.csv", newline="")))
assert rows[0] == ["record", "offset", "length", "person", "impression", "kind", "swapped",
                   "missing"], rows[0]
rows = rows[1:]
m = int(persons * rate + 1e-9)
assert len(rows) == (persons + m) * k, (len(rows), persons, m, k)
off, next_person, re = 0, 0, 0
for i, r in enumerate(rows):
    rec, o, n, person, imp, kind, sw, ms = r
    assert int(rec) == i and int(o) == off, r
    n = int(n)
    hdr = data[off:off + 24]
    assert hdr[:8] == b"FMR\0 20\0", r
    assert struct.unpack(">I", hdr[8:12])[0] == n, r
    assert struct.unpack(">HHHH", hdr[14:22]) == (300, 400, 197, 197), r
    views, at, pos = hdr[22], off + 24, []
    for v in range(views):
        pos.append(data[at])
        count = data[at + 3]
        assert 20 <= count <= 80, (r, count)
        at += 4 + 6 * count
        assert data[at:at + 2] == b"\0\0", r
        at += 2
    assert at == off + n, r
    missing = [int(x) for x in ms.split("+")] if ms else []
    assert sorted(pos) == [p for p in range(1, 11) if p not in missing], (r, pos)
    if sw:
        a, b = (int(x) for x in sw.split("+"))
        assert a < b and not missing, r
    person, imp = int(person), int(imp)
    if kind == "new":
        assert not sw and not ms, r
        if i % k == 0:
            assert person == next_person, (r, next_person)
            next_person += 1
        assert imp == i % k, r
    else:
        assert kind == "reenroll", r
        assert person < next_person, r
        if i % k == 0:
            re += 1
        assert imp == re * k + i % k, (r, re)
    off += n
assert off == len(data), (off, len(data))
assert next_person == persons and re == m, (next_person, re)
EOF
}
truth_ok "$tmp/a" 300 0.1 1; check "truth.csv matches records.iso: offsets, lengths, views, plan" $?

run --persons 40 --seed 3 --out "$tmp/k" --impressions 3 --reenroll-rate 0.25 --threads 3
[ "$rc" -eq 0 ]; check "--impressions 3: exits 0 (got $rc; $err)" $?
truth_ok "$tmp/k" 40 0.25 3; check "--impressions 3: K consecutive records per enrollment" $?
run --persons 7 --out "$tmp/r0" --reenroll-rate 0
truth_ok "$tmp/r0" 7 0 1; check "--reenroll-rate 0: new enrollments only" $?
run --persons 9 --out "$tmp/r1" --reenroll-rate=1 --seed=4
truth_ok "$tmp/r1" 9 1 1; check "--reenroll-rate=1: one re-enrollment per person" $?

# Every record through the real decoder: split into FINGER_IMPRESSION.iso
# files, which `sidik eval` decodes strictly (any bad record fails it).
run --persons 12 --seed 5 --out "$tmp/e" --impressions 2 --reenroll-rate 0
mkdir "$tmp/eval"
/usr/bin/python3 - "$tmp/e" "$tmp/eval" <<'EOF'
import csv, sys
d, out = sys.argv[1], sys.argv[2]
data = open(d + "/records.iso", "rb").read()
for r in list(csv.reader(open(d + "/truth.csv")))[1:]:
    o, n = int(r[1]), int(r[2])
    open("%s/%d_%d.iso" % (out, int(r[3]) + 1, int(r[4]) + 1), "wb").write(data[o:o + n])
EOF
"$sidik" eval --json "$tmp/eval" >"$tmp/eval.json" 2>"$tmp/eval.err"
check "every record decodes (sidik eval over 24 records: $(cat "$tmp/eval.err"))" $?

# --- calibration --------------------------------------------------------
refused "--calibrate on a missing folder" 1 "sidik gen: $tmp/nope: not a folder of FVC DB folders\
 (give PATH, or set SIDIK_FVC_DATA)" --calibrate --persons 2 "$tmp/nope"
if [ ! -f "$data/DB1_B/101_1.iso" ]; then
    echo "skip: $data holds no FVC2002 templates; --calibrate needs them"
    exit $fail
fi
run --calibrate --persons 5 --seed 2 "$data"
[ "$rc" -eq 0 ]; check "--calibrate: exits 0 (got $rc; $err)" $?
for re in "^genuine pairs +560 +1120$" "^impostor pairs +760 +11520$" "^EER +[0-9.]+% +[0-9.]+%$" \
    "^FMR1000 \(at FMR 0.1%\) +[0-9.]+% +[0-9.]+%$" "^50 +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$" \
    "^synthetic EER [0-9.]+% (>=|<) real EER [0-9.]+%: synthetic is "; do
    printf "%s\n" "$out" | grep -qE "$re"; check "--calibrate prints /$re/" $?
done
printf "%s\n" "$err" | grep -qE "^sidik gen: calibration took [0-9.]+ s \(simd "
check "--calibrate: time on stderr ($err)" $?
SIDIK_FVC_DATA="$data" "$sidik" gen --calibrate --persons 2 --simd scalar >"$tmp/cal2" 2>&1
check "--calibrate finds the data through SIDIK_FVC_DATA, --simd scalar" $?
exit $fail
