#!/bin/sh
# `sidik eval`: the command line, hostile folders (each refused with exit 1
# and one line naming the culprit), small folders built from real templates,
# and the FVC2002 B sets end to end. Accuracy figures are not asserted here:
# the matcher is judged separately; this checks the protocol's shape.
#
# usage: test_eval.sh SIDIK DATA_DIR   (DATA_DIR holds DB1_B..DB4_B)
set -u
sidik=$1
data=$2
subcommand=eval
. "$(dirname "$0")/lib.sh"

usage="usage: sidik eval [--json] [--simd LEVEL] PATH"
dir_or_dirs="give a folder of FINGER_IMPRESSION.iso files or a folder of such folders"

# --- the command line ---------------------------------------------------
run --help
[ "$rc" -eq 0 ]; check "--help exits 0" $?
for word in "FMR(t)" "FNMR(t)" EER FMR100 FMR1000 ZeroFMR genuine "impostor, standard" \
    "impostor, extended" "Rank-1" "A tie with an impostor is a miss" "Exit codes" \
    "--simd LEVEL" "--json"; do
    printf "%s\n" "$out" | grep -qF -- "$word"; check "--help explains $word" $?
done

refused "no PATH" 2 "sidik eval: PATH missing
$usage"
refused "unknown flag" 2 "sidik eval: unknown option '--bogus'; 'sidik eval --help' lists them" \
    --bogus "$tmp"
refused "two paths" 2 "sidik eval: one PATH only, got '$tmp' and '$tmp'
$usage" "$tmp" "$tmp"
refused "--simd without a level" 2 \
    "sidik eval: --simd needs a level: scalar, sse42, avx2 or avx512" --simd
refused "--simd bogus" 2 \
    "sidik eval: --simd 'bogus': must be one of scalar, sse42, avx2, avx512" --simd bogus "$tmp"

# --- folders that are not a data set ------------------------------------
refused "nonexistent path" 1 "sidik eval: $tmp/nope: No such file or directory" "$tmp/nope"
: >"$tmp/plain"
refused "a file as PATH" 1 "sidik eval: $tmp/plain: not a folder; $dir_or_dirs" "$tmp/plain"
mkdir "$tmp/empty"
refused "empty folder" 1 "sidik eval: $tmp/empty: holds no FINGER_IMPRESSION.iso templates" \
    "$tmp/empty"
mkdir "$tmp/noiso"
echo notes >"$tmp/noiso/notes.txt"
refused "folder without .iso files" 1 \
    "sidik eval: $tmp/noiso: holds no FINGER_IMPRESSION.iso templates" "$tmp/noiso"
mkdir "$tmp/emptysub" "$tmp/emptysub/DB1"
refused "folder of an empty DB folder" 1 \
    "sidik eval: $tmp/emptysub/DB1: holds no FINGER_IMPRESSION.iso templates" "$tmp/emptysub"

# Naming and structure are checked before any file is decoded, so garbage
# bytes serve as templates here.
mkset() { # folder, names...: files of garbage
    d=$1
    shift
    mkdir -p "$d"
    for n in "$@"; do echo "not a template $n" >"$d/$n"; done
}
mkset "$tmp/misnamed" 101_1.iso 101_2.iso 102_1.iso 102_2.iso 102-3.iso
refused "misnamed file" 1 "sidik eval: $tmp/misnamed/102-3.iso: name does not match\
 FINGER_IMPRESSION.iso (e.g. 101_1.iso); refused, since skipping it would change the attempt\
 counts" "$tmp/misnamed"
mkset "$tmp/readme" 101_1.iso 101_2.iso 102_1.iso 102_2.iso README.md
refused "non-template file in a DB folder" 1 "sidik eval: $tmp/readme/README.md: name does not\
 match FINGER_IMPRESSION.iso (e.g. 101_1.iso); refused, since skipping it would change the\
 attempt counts" "$tmp/readme"
mkset "$tmp/dup" 101_1.iso 101_01.iso 101_2.iso 102_1.iso 102_2.iso
refused "same finger and impression twice" 1 \
    "sidik eval: $tmp/dup/101_1.iso: same finger and impression as $tmp/dup/101_01.iso" "$tmp/dup"
mkset "$tmp/single" 101_1.iso 102_1.iso 103_1.iso
refused "one impression per finger" 1 \
    "sidik eval: $tmp/single: no finger has two impressions, so there are no genuine attempts" \
    "$tmp/single"
mkset "$tmp/onefinger" 101_1.iso 101_2.iso 101_3.iso
refused "one finger only" 1 \
    "sidik eval: $tmp/onefinger: only one finger, so there are no impostor attempts" \
    "$tmp/onefinger"
mkset "$tmp/mixed" 101_1.iso 101_2.iso
mkdir "$tmp/mixed/DB2"
refused "files and folders mixed" 1 "sidik eval: $tmp/mixed: holds both .iso files and folders;\
 give one DB folder or a folder of DB folders" "$tmp/mixed"
mkset "$tmp/deep/DB1" 101_1.iso 101_2.iso 102_1.iso 102_2.iso
mkdir "$tmp/deep/DB1/inner"
refused "folder inside a DB folder" 1 "sidik eval: $tmp/deep/DB1/inner: a folder inside a DB\
 folder; PATH must be one folder of FINGER_IMPRESSION.iso files or a folder of such folders" \
    "$tmp/deep"
mkset "$tmp/fifo" 101_1.iso 101_2.iso 102_1.iso
mkfifo "$tmp/fifo/102_2.iso"
refused "a FIFO named like a template (reading it would block)" 1 \
    "sidik eval: $tmp/fifo/102_2.iso: not a regular file" "$tmp/fifo"
mkset "$tmp/garbage" 101_1.iso 101_2.iso 102_1.iso 102_2.iso
run "$tmp/garbage"
[ "$rc" -eq 1 ]; check "garbage template: exits 1 (got $rc)" $?
case $err in
"sidik eval: $tmp/garbage/101_1.iso: not a usable finger minutiae record: "*"(SIDIK_E"*")")
    check "garbage template: names the file and why ($err)" 0 ;;
*) check "garbage template: names the file and why (got '$err')" 1 ;;
esac

# --- real templates -----------------------------------------------------
db1="$data/DB1_B"
if [ ! -f "$db1/101_1.iso" ]; then
    echo "skip: $data holds no FVC2002 templates; the rest needs them"
    exit $fail
fi

# A truncated copy: cut inside the 24-byte record header.
mkdir "$tmp/trunc"
for f in 101_2.iso 102_1.iso 102_2.iso; do cp "$db1/$f" "$tmp/trunc/"; done
head -c 10 "$db1/101_1.iso" >"$tmp/trunc/101_1.iso"
run "$tmp/trunc"
[ "$rc" -eq 1 ]; check "truncated template: exits 1 (got $rc)" $?
case $err in
"sidik eval: $tmp/trunc/101_1.iso: not a usable finger minutiae record: "*"(SIDIK_ETRUNCATED)")
    check "truncated template: names the file and why ($err)" 0 ;;
*) check "truncated template: names the file and why (got '$err')" 1 ;;
esac
[ -z "$out" ]; check "truncated template: nothing on stdout" $?

# Garbage among real templates, sorted after them: still refused.
mkdir "$tmp/garbage2"
for f in 101_1.iso 101_2.iso 102_1.iso; do cp "$db1/$f" "$tmp/garbage2/"; done
head -c 300 /dev/urandom >"$tmp/garbage2/102_2.iso"
run "$tmp/garbage2"
[ "$rc" -eq 1 ]; check "random bytes among real templates: exits 1 (got $rc)" $?
printf "%s\n" "$err" | grep -qF "sidik eval: $tmp/garbage2/102_2.iso: not a usable finger minutiae record: "
check "random bytes: the file is named ($err)" $?

if [ "$(id -u)" -ne 0 ]; then # root reads anything
    mkdir "$tmp/unreadable"
    for f in 101_1.iso 101_2.iso 102_1.iso 102_2.iso; do cp "$db1/$f" "$tmp/unreadable/"; done
    chmod 000 "$tmp/unreadable/102_1.iso"
    refused "unreadable file" 1 "sidik eval: $tmp/unreadable/102_1.iso: Permission denied" \
        "$tmp/unreadable"
fi

# A small DB: 3 fingers x 3 impressions, plus a hidden file that is skipped.
mkdir "$tmp/small"
for f in 101 102 103; do
    for i in 1 2 3; do cp "$db1/${f}_$i.iso" "$tmp/small/"; done
done
echo junk >"$tmp/small/.DS_Store"
run --json "$tmp/small"
[ "$rc" -eq 0 ]; check "small DB: exits 0 (got $rc; $err)" $?
printf "%s\n" "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert list(d) == ["dbs", "rank1", "thresholds"], list(d)
assert [t["target_fmr"] for t in d["thresholds"]] == [0.01, 0.001, 0.0001], d["thresholds"]
for t in d["thresholds"]:
    assert t["fmr"] <= t["target_fmr"] and 0 <= t["fnmr"] <= 1 and t["threshold"] >= 0, t
assert d["thresholds"][0]["threshold"] <= d["thresholds"][1]["threshold"] <= d["thresholds"][2]["threshold"]
(x,) = d["dbs"]
assert x["name"] == "small", x
assert (x["genuine"], x["impostor"], x["impostor_ext"]) == (9, 3, 27), x
for k in ("eer", "fmr100", "fmr1000", "zerofmr"):
    for v in (x[k], x[k + "_ext"]):
        assert 0 <= v <= 1, (k, v)
assert 0 <= d["rank1"] <= 1
'
check "small DB: JSON has 9 genuine, 3 standard and 27 extended impostor attempts" $?
[ "$(printf "%s\n" "$out" | wc -l)" -eq 1 ]; check "small DB: --json prints one line" $?
printf "%s\n" "$err" | grep -qE "^sidik eval: 9 templates in 1 DB, 36 comparisons, [0-9.]+ s \(simd "
check "small DB: comparisons and time on stderr ($err)" $?

run --simd=scalar "$tmp/small"
[ "$rc" -eq 0 ]; check "small DB table, --simd=scalar: exits 0 (got $rc; $err)" $?
[ "$(printf "%s\n" "$out" | wc -l)" -eq 8 ]; check "table: header, 2 rows, rank-1 line, 4 threshold lines" $?
printf "%s\n" "$out" | grep -qE "^  FMR <= 0.001 +threshold +[0-9]+   FMR [0-9.]+%   FNMR [0-9.]+%$"
check "table: threshold line for FMR 0.1%" $?
printf "%s\n" "$out" | head -1 | grep -qE "^DB +impostors +genuine +impostor +EER +FMR100 +FMR1000 +ZeroFMR$"
check "table: header ($(printf "%s\n" "$out" | head -1))" $?
printf "%s\n" "$out" | grep -qE "^small +standard +9 +3 +[0-9]+\.[0-9]{2}% "
check "table: standard row" $?
printf "%s\n" "$out" | grep -qE "^small +extended +9 +27 +[0-9]+\.[0-9]{2}% "
check "table: extended row" $?
printf "%s\n" "$out" | grep -qE "^rank-1 identification: [0-9]+\.[0-9]{2}% \([0-9]+ of 9 probes, 1 DB\)$"
check "table: rank-1 line" $?
printf "%s\n" "$err" | grep -q "(simd scalar)"; check "--simd=scalar is the level used" $?

# A folder of DB folders, with a README beside them that is ignored.
mkdir -p "$tmp/multi/A" "$tmp/multi/B"
echo "about these sets" >"$tmp/multi/README.md"
for f in 101_1 101_2 102_1 102_2; do
    cp "$db1/$f.iso" "$tmp/multi/A/"
    cp "$data/DB2_B/$f.iso" "$tmp/multi/B/"
done
run --json "$tmp/multi"
[ "$rc" -eq 0 ]; check "folder of DBs: exits 0 (got $rc; $err)" $?
printf "%s\n" "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [x["name"] for x in d["dbs"]] == ["A", "B"], d
for x in d["dbs"]:
    assert (x["genuine"], x["impostor"], x["impostor_ext"]) == (2, 1, 4), x
'
check "folder of DBs: two DBs, 2 genuine, 1 and 4 impostor attempts each" $?
printf "%s\n" "$err" | grep -q "8 templates in 2 DBs, 28 comparisons"
check "folder of DBs: rank-1 compares across DBs (28 pairs) ($err)" $?

# A DB folder's name is the user's bytes: quotes, a backslash, a tab and a
# byte that is not UTF-8 must still come out as valid JSON.
odd=$(printf 'q"b\\c\tz\377')
mkdir -p "$tmp/odd/$odd"
cp "$tmp/multi/A/"*.iso "$tmp/odd/$odd/"
run --json "$tmp/odd"
[ "$rc" -eq 0 ]; check "odd DB name: exits 0 (got $rc; $err)" $?
printf "%s\n" "$out" | /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.buffer.read().decode("utf-8"))
assert d["dbs"][0]["name"] == "q\"b\\c\tz\ufffd", d["dbs"][0]["name"]
'
check "odd DB name: escaped JSON string, invalid byte as U+FFFD" $?

# --- the FVC2002 B sets -------------------------------------------------
run --json "$data"
[ "$rc" -eq 0 ]; check "FVC2002: exits 0 (got $rc; $err)" $?
[ "$(printf "%s\n" "$out" | wc -l)" -eq 1 ]; check "FVC2002: --json prints one line" $?
printf "%s\n" "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert list(d) == ["dbs", "rank1", "thresholds"], list(d)
assert [t["target_fmr"] for t in d["thresholds"]] == [0.01, 0.001, 0.0001], d["thresholds"]
for t in d["thresholds"]:
    assert t["fmr"] <= t["target_fmr"] and 0 <= t["fnmr"] <= 1 and t["threshold"] >= 0, t
assert d["thresholds"][0]["threshold"] <= d["thresholds"][1]["threshold"] <= d["thresholds"][2]["threshold"]
assert [x["name"] for x in d["dbs"]] == ["DB1_B", "DB2_B", "DB3_B", "DB4_B"], d["dbs"]
for x in d["dbs"]:
    assert (x["genuine"], x["impostor"], x["impostor_ext"]) == (280, 45, 2880), x
    for k in ("eer", "fmr100", "fmr1000", "zerofmr"):
        for v in (x[k], x[k + "_ext"]):
            assert isinstance(v, (int, float)) and 0 <= v <= 1, (x["name"], k, v)
assert isinstance(d["rank1"], (int, float)) and 0 <= d["rank1"] <= 1, d["rank1"]
'
check "FVC2002: 4 DBs of 280 genuine, 45 and 2880 impostor attempts, rates in [0,1]" $?
printf "%s\n" "$err" | grep -q "320 templates in 4 DBs, 51040 comparisons"
check "FVC2002: every pair scored once ($err)" $?
echo "FVC2002: $out"
exit $fail
