#!/bin/sh
# `sidik audit` and `sidik admin` against a live sidikd: 20 persons
# preloaded, then decisions of every kind (tests/integration/audit_fixture.py):
# each command's answers, its --json/--csv, paging, verdicts flowing on,
# the audit chain intact and then edited, shards added and rebalanced, and
# every command refused for each wrong role with exit code 4.
#   test_audit_admin.sh SIDIKD SIDIK SOURCE_DIR
set -u
sidikd=$1
sidik=$2
src=$3
. "$src/tests/integration/live.sh"
live_setup
py=/usr/bin/python3
sh "$src/deploy/pki.sh" pki >/dev/null
"$sidik" gen --persons 20 --reenroll-rate 0 --seed 99 --out old >/dev/null 2>&1
"$sidik" gen --persons 8 --impressions 2 --reenroll-rate 0 --seed 99 --out again >/dev/null 2>&1
"$sidik" gen --persons 5 --reenroll-rate 0 --seed 7 --out new >/dev/null 2>&1
live_conf
"$sidik" preload --data data --records old/records.iso >/dev/null
check "20 persons preloaded" $?
live_start

$py "$src/tests/integration/audit_fixture.py" "$src/proto" pki "$port" new/records.iso \
    again/records.iso > ids
check "the fixture uploaded and every enrollment was decided" $?
id() { awk -v n="$1" '$1 == n { print $2 }' ids; }
cat ids
grep -q "^dup .* DUPLICATE$" ids; check "dup is DUPLICATE" $?
[ "$(grep -c '^new[0-2] .* PRINT_READY$' ids)" -eq 3 ]; check "new0-2 are PRINT_READY" $?
[ "$(grep -c '^claim[12] .* ADJUDICATE$' ids)" -eq 2 ]; check "the NIK claims wait for review" $?

# The auditor's settings from the environment, the server from a config file.
export SIDIK_CA="$PWD/pki/ca.crt" SIDIK_CERT="$PWD/pki/auditor.crt" SIDIK_KEY="$PWD/pki/auditor.key"
printf 'server = localhost:%s\n' "$port" > client.conf
export SIDIK_CONFIG="$PWD/client.conf"
as_admin="--cert pki/admin.crt --key pki/admin.key"
as_office="--cert pki/office-JKT-01.crt --key pki/office-JKT-01.key"
as_printer="--cert pki/printer.crt --key pki/printer.key"
run() { "$sidik" "$@" > out 2> err; rc=$?; }
json() { $py -c "import json,sys; d=json.load(open('out')); sys.exit(0 if ($1) else 1)"; }
lines() { $py -c "import json,sys; L=[json.loads(l) for l in open('out')]; sys.exit(0 if ($1) else 1)"; }

# ---- audit show ----
run audit show "$(id dup)"
[ $rc -eq 0 ] && grep -q "^decision    DUPLICATE_OF" out && grep -q "fingers matched: [1-9]" out &&
    grep -q "^  .*DUPLICATE$" out && grep -q "thresholds  duplicate" out
check "audit show: the DUPLICATE with its history, candidates, matched fingers, thresholds" $?
run audit show "$(id dup)" --json
json "d['decision']=='DUPLICATE_OF' and d['status']=='DUPLICATE' and d['office_code']=='JKT-01' \
      and len(d['candidates'])>=1 and d['candidates'][0]['record_id']>=2**62 \
      and d['candidates'][0]['fingers_matched']>=1 and len(d['history'])>=2 and d['index']==0 \
      and d['review_threshold'] < d['threshold']"
check "audit show --json: decision, status, candidate (a preloaded record), history" $?
preloaded=$($py -c "import json; print(json.load(open('out'))['candidates'][0]['record_id'])")
run audit show 00000000-0000-4000-8000-000000000000
[ $rc -eq 1 ] && grep -q "NOT_FOUND" err; check "audit show of an unknown id: NOT_FOUND, exit 1 (got $rc)" $?
run audit show
[ $rc -eq 2 ] && grep -q "needs the enrollment id" err; check "audit show without an id: exit 2" $?

# ---- audit search and export ----
run audit search --decision duplicate --json
lines "len(L)==1 and L[0]['enrollment_id']=='$(id dup)'"
check "audit search --decision duplicate: exactly the DUPLICATE" $?
run audit search --office JKT-01 --csv
[ $rc -eq 0 ] && [ "$(head -n 1 out | cut -d, -f1)" = enrollment_id ] && [ "$(wc -l < out)" -eq 7 ]
check "audit search --office JKT-01 --csv: a header and the 6 decisions" $?
run audit search --nik 3171012505905000 --json  # new0's (sidik_client.nik_for(5000))
lines "len(L)==2 and sorted(x['enrollment_id'] for x in L)==sorted(['$(id new0)','$(id claim1)'])"
check "audit search --nik: the holder and the claimant of one NIK" $?
run audit search --from 2000-01-01 --to 2000-01-02 --json
[ $rc -eq 0 ] && [ ! -s out ]; check "audit search outside any decision time: nothing" $?
run audit search --min-score 1e9 --json
[ $rc -eq 0 ] && [ ! -s out ]; check "audit search --min-score above every score: nothing" $?
run audit search --page-size 2
[ $rc -eq 0 ] && [ "$(wc -l < out)" -eq 3 ] && grep -q "^more: --page-token " err
check "audit search --page-size 2: one page of 2 and the token to go on" $?
token=$(sed -n 's/^more: --page-token \([^ ]*\) .*/\1/p' err)
run audit search --page-size 2 --page-token "$token" --json
lines "len(L)==2"; check "audit search --page-token: the next page" $?
run audit search --page-size 2 --all --json
lines "len(L)==6 and len(set(x['enrollment_id'] for x in L))==6"
check "audit search --all: every decision once, across pages" $?
run audit search --page-token 'garbage!' --json
[ $rc -eq 1 ] && grep -q INVALID_ARGUMENT err; check "audit search with a garbage token: INVALID_ARGUMENT" $?
run audit export
[ $rc -eq 0 ] && [ "$(wc -l < out)" -eq 7 ]; check "audit export: CSV of every decision" $?
run audit search --decision maybe
[ $rc -eq 2 ] && grep -q "say unique, duplicate or review" err; check "audit search --decision maybe: exit 2" $?
run audit search --from yesterday
[ $rc -eq 2 ]; check "audit search --from yesterday: exit 2" $?

# ---- the review queue and verdicts ----
run audit review --json
lines "sorted(x['enrollment_id'] for x in L)==sorted(['$(id claim1)','$(id claim2)']) and all(x['decision']=='REVIEW' for x in L)"
check "audit review: the two NIK claims" $?
run audit decide "$(id claim1)" --unique
[ $rc -eq 2 ] && grep -q "needs --reason" err; check "audit decide without a reason: exit 2" $?
run audit decide "$(id claim1)" --unique --duplicate-of 5 --reason x
[ $rc -eq 2 ]; check "audit decide with both verdicts: exit 2" $?
run audit decide "$(id new0)" --unique --reason "looks fine"
[ $rc -eq 1 ] && grep -q FAILED_PRECONDITION err; check "audit decide on a PRINT_READY: FAILED_PRECONDITION (got $rc)" $?
run audit decide "$(id claim1)" --unique --reason "twins: different fingers, NIK typo at the office"
[ $rc -eq 0 ] && grep -q "UNIQUE by auditor:auditor.dewi" out; check "audit decide --unique" $?
run audit decide "$(id claim2)" --duplicate-of "$preloaded" --reason "same person as the preloaded record"
[ $rc -eq 0 ] && grep -q "DUPLICATE_OF by auditor:auditor.dewi" out; check "audit decide --duplicate-of" $?
run audit decide "$(id claim2)" --unique --reason "again"
[ $rc -eq 1 ] && grep -q FAILED_PRECONDITION err; check "a second verdict on the same enrollment is refused" $?
ok=1
for _ in $(seq 1 100); do
    run audit show "$(id claim1)" --json
    json "d['status']=='PRINT_READY'" && { ok=0; break; }
    sleep 0.1
done
check "the UNIQUE verdict flows on: PRINT_READY" $ok
json "d['decision']=='UNIQUE' and d['adjudicator']=='auditor:auditor.dewi' and d['index']==1 and len(d['earlier'])==1 and d['earlier'][0]['decision']=='REVIEW'"
check "audit show after the verdict: the adjudicator, and the search's decision as the earlier one" $?
run audit show "$(id claim2)" --json
json "d['status']=='DUPLICATE' and d['decision']=='DUPLICATE_OF' and d['candidates'][0]['record_id']==$preloaded"
check "the DUPLICATE verdict names the record" $?
run audit review --json
[ $rc -eq 0 ] && [ ! -s out ]; check "the review queue is empty after both verdicts" $?

# ---- the audit chain ----
run audit verify
[ $rc -eq 0 ] && grep -q "^audit log intact: [0-9]* entries" out; check "audit verify: intact" $?
run audit verify --json
json "d['intact'] and d['entries']>=8 and len(d['head_sha256'])==64"
check "audit verify --json: the decisions, verdicts and head hash" $?

# ---- admin ----
run admin shards $as_admin --json
json "len(d['shards'])>=1 and sum(s['records'] for s in d['shards'])==24"
check "admin shards: 24 records (20 preloaded, 3 unique, 1 adjudicated unique)" $?
before=$($py -c "import json; print(len(json.load(open('out'))['shards']))")
run admin shards add $as_admin
[ $rc -eq 0 ] && grep -q "^shard [0-9]* added" out; check "admin shards add" $?
run admin shards $as_admin
[ $rc -eq 0 ] && grep -q "^$((before + 1)) shards, 24 records" out; check "admin shards: one more shard, the same records" $?
run admin rebalance $as_admin --json
lines "L[-1]['done'] and L[-1]['moved']==L[-1]['total'] and L[-1]['moved']>0 and all(a['moved']<=b['moved'] for a,b in zip(L,L[1:]))"
check "admin rebalance --json: monotonic progress to done" $?
run admin shards $as_admin --json
json "sum(s['records'] for s in d['shards'])==24 and min(s['records'] for s in d['shards'])>0"
check "after the rebalance every shard holds records, 24 in all" $?
run admin stats $as_admin --json
json "d['gallery_persons']==24 and d['review_queue']==0 and d['print_queue']==4 and d['dedup_queue']==0"
check "admin stats: 24 persons, nothing waiting, 4 print authorisations queued" $?
run admin stats $as_admin
[ $rc -eq 0 ] && grep -q "^gallery            24 persons" out; check "admin stats: the table" $?
run admin config $as_admin --json
json "'listen' in d and d['data_dir']=='data'"; check "admin config --json: the settings in force" $?
run admin rebalance $as_admin --max-moves 0
[ $rc -eq 2 ]; check "admin rebalance --max-moves 0: exit 2" $?
run audit verify
[ $rc -eq 0 ] && grep -q "intact" out; check "audit verify after the admin actions: intact" $?

# ---- roles: every command refused for each wrong role, exit 4 ----
for cmd in "audit show $(id dup)" "audit search" "audit export" "audit review" "audit verify" \
           "audit decide $(id dup) --unique --reason x"; do
    for who in office admin printer; do
        case $who in office) creds=$as_office ;; admin) creds=$as_admin ;; *) creds=$as_printer ;; esac
        # shellcheck disable=SC2086
        run $cmd $creds
        [ $rc -eq 4 ] && grep -q PERMISSION_DENIED err && grep -q "needs an auditor certificate" err
        check "$who: $cmd -> PERMISSION_DENIED, exit 4 (got $rc)" $?
    done
done
for cmd in "admin shards" "admin shards add" "admin rebalance" "admin stats" "admin config"; do
    for who in office auditor printer; do
        case $who in office) creds=$as_office ;; auditor) creds="" ;; *) creds=$as_printer ;; esac
        # shellcheck disable=SC2086
        run $cmd $creds
        [ $rc -eq 4 ] && grep -q PERMISSION_DENIED err && grep -q "needs an admin certificate" err
        check "$who: $cmd -> PERMISSION_DENIED, exit 4 (got $rc)" $?
    done
done

for who in admin printer; do
    if [ $who = admin ]; then creds=$as_admin; else creds=$as_printer; fi
    # shellcheck disable=SC2086
    run status get "$(id dup)" $creds
    [ $rc -eq 4 ] && grep -q PERMISSION_DENIED err
    check "$who: status get -> PERMISSION_DENIED, exit 4 (got $rc)" $?
done

# ---- connection and settings ----
run audit verify --server localhost:1
[ $rc -eq 3 ]; check "nothing listening: exit 3 (got $rc)" $?
run audit verify --ca pki/nonexistent.crt
[ $rc -eq 2 ]; check "a CA file that does not exist: exit 2 (got $rc)" $?
run audit verify --bogus
[ $rc -eq 2 ] && grep -q "unexpected '--bogus'" err; check "an unknown option: exit 2" $?
run audit
[ $rc -eq 2 ]; check "audit without a subcommand: exit 2" $?
run audit --help
[ $rc -eq 0 ] && grep -q "^Examples:" out && grep -q "^Exit codes:" out; check "audit --help: examples and exit codes" $?
run admin --help
[ $rc -eq 0 ] && grep -q "^Examples:" out && grep -q "^Exit codes:" out; check "admin --help: examples and exit codes" $?

# ---- verifications given up on: the server drops their answers, serves on ----
gone=
for _ in $(seq 1 20); do "$sidik" audit verify --timeout 0.02 >/dev/null 2>&1 & gone="$gone $!"; done
# shellcheck disable=SC2086
wait $gone  # not a bare wait: sidikd is a child too
run audit verify
[ $rc -eq 0 ] && grep -q "intact" out && kill -0 "$pid"
check "20 verifications given up on at 20 ms: sidikd still answers the next one" $?

# ---- an edited store: verify names the first broken entry ----
dup_entry=$(awk '$1 == "dup_entries" { print $2 }' ids)
live_stop
$py - data/control <<'PY'
import glob, sys
# The DUPLICATE decision's audit detail ("DUPLICATE; candidates: ...") is
# text in the entry; LMDB keeps no checksums, so change it on every page
# that holds a copy, as someone editing the store would.
n = 0
for path in glob.glob(sys.argv[1] + "/*.mdb"):
    data = bytearray(open(path, "rb").read())
    at = data.find(b"DUPLICATE; candidates")
    while at >= 0:
        data[at:at + 9] = b"UNIQUE!!!"
        n += 1
        at = data.find(b"DUPLICATE; candidates", at)
    open(path, "wb").write(data)
sys.exit(0 if n else "no audit entry found to edit")
PY
check "one audit entry edited in the store" $?
: > log  # live_start reads the port from the log
live_start
printf 'server = localhost:%s\n' "$port" > client.conf  # the kernel gave another port
run audit verify
[ $rc -eq 1 ] && grep -q "^audit log BROKEN at entry $dup_entry " out
check "audit verify on the edited store: BROKEN at entry $dup_entry, exit 1 (got $rc)" $?
live_stop
[ $fail -eq 0 ] || cat log
exit $fail
