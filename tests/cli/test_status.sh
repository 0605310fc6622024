#!/bin/sh
# `sidik status get/list` against a live sidikd over mutual TLS, through the
# CLI's own gRPC client (cli/rpc.h): three enrollments uploaded by JKT-01
# with a stock grpcio client are shown as grpcio sees them (table and
# --json); another office gets NOT_FOUND, an admin PERMISSION_DENIED, an
# auditor may get but not list; a foreign CA, a stopped server, a frozen
# server (deadline) and a missing port fail with exit 1 and say what to do;
# bad command lines and settings exit 2 with their exact message; flags win
# over SIDIK_* which win over the config file.
#   test_status.sh SIDIKD SIDIK SOURCE_DIR
set -u
sidikd=$1
sidik=$2
src=$3
. "$src/tests/integration/live.sh"
live_setup
# Nothing from the caller's environment or home may leak in.
unset SIDIK_SERVER SIDIK_CA SIDIK_CERT SIDIK_KEY SIDIK_TIMEOUT SIDIK_CONFIG XDG_CONFIG_HOME
export HOME="$tmp/home"
mkdir -p "$HOME"

# run ARGS: sidik status ARGS; sets rc, out, err.
run() {
    "$sidik" status "$@" >stdout 2>stderr
    rc=$?
    out=$(cat stdout)
    err=$(cat stderr)
}
# refused DESC RC ERR ARGS: exits RC, exactly ERR on stderr, nothing on stdout.
refused() {
    desc=$1 want_rc=$2 want_err=$3
    shift 3
    run "$@"
    [ "$rc" -eq "$want_rc" ]; check "$desc: exits $want_rc (got $rc)" $?
    if [ "$err" = "$want_err" ]; then
        check "$desc: stderr is exactly as expected" 0
    else
        check "$desc: stderr is '$want_err' (got '$err')" 1
    fi
    [ -z "$out" ]; check "$desc: nothing on stdout" $?
}

sh "$src/deploy/pki.sh" pki >/dev/null
sh "$src/deploy/pki.sh" foreign ca >/dev/null
"$sidik" gen --persons 3 --reenroll-rate 0 --out gen >/dev/null 2>&1
live_conf
live_start
office="--ca pki/ca.crt --cert pki/office-JKT-01.crt --key pki/office-JKT-01.key"
srv="--server 127.0.0.1:$port"

# Three enrollments of JKT-01, decided; expect.json is how grpcio sees them.
/usr/bin/python3 - "$src" pki "$port" > expect.json <<'PY'
import json, sys, time
sys.path.insert(0, sys.argv[1] + "/tests/integration")
from sidik_client import channel, enrollment, load_stubs, records, wait_decided
pb, rpc = load_stubs(sys.argv[1] + "/proto")
chan = channel(sys.argv[2], sys.argv[3], "office-JKT-01")
es = [enrollment(pb, r, 100 + i) for i, r in enumerate(records("gen/records.iso")[:3])]
got = list(rpc.IngestStub(chan).Upload(iter(es), timeout=20))
assert [g.code for g in got] == [0, 0, 0], got
ids = [e.enrollment_id for e in es]
st = wait_decided(pb, rpc.StatusStub(chan), ids, timeout=60)
name = pb.EnrollmentStatus.Name
iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))
print(json.dumps([{"enrollment_id": i, "office_code": st[i].office_code,
                   "status": name(st[i].status),
                   "changed_ms": st[i].history[-1].time_ms, "changed": iso(st[i].history[-1].time_ms),
                   "history": [{"status": name(h.status), "time_ms": h.time_ms, "time": iso(h.time_ms)}
                               for h in st[i].history]} for i in ids]))
PY
check "three enrollments uploaded and decided with grpcio" $?
id1=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open("expect.json"))[0]["enrollment_id"])')
# rows FILE: the expected table rows, one per enrollment (fields as awk splits them).
/usr/bin/python3 -c '
import json
for e in json.load(open("expect.json")):
    print(e["enrollment_id"], e["office_code"], e["status"], e["changed"])' > rows.want

# ---- found -----------------------------------------------------------------------
run get "$id1" $office $srv
[ "$rc" -eq 0 ] && [ -z "$err" ]; check "get: exit 0, nothing on stderr (rc $rc, '$err')" $?
[ "$(echo "$out" | sed -n 1p | awk '{print $1, $2, $3, $4, $5}')" = "ENROLLMENT OFFICE STATUS CHANGED (UTC)" ]
check "get: the table's header" $?
[ "$(echo "$out" | sed -n 2p | awk '{print $1, $2, $3, $4}')" = "$(sed -n 1p rows.want)" ]
check "get: the row is grpcio's id, office, status and last change (UTC)" $?
echo "$out" | grep -q '^history:$'; check "get: prints the history" $?

run get "$id1" --json $office $srv
/usr/bin/python3 -c '
import json, sys
got = [json.loads(l) for l in sys.stdin.read().splitlines()]
want = json.load(open("expect.json"))[0]
sys.exit(0 if got == [want] else f"{got} != {want}")' <stdout
check "get --json: one object, exactly grpcio's view (history included)" $?

run list $office $srv
[ "$rc" -eq 0 ] && [ -z "$err" ]; check "list: exit 0, nothing on stderr" $?
[ "$(echo "$out" | sed 1d | awk '{print $1, $2, $3, $4}')" = "$(cat rows.want)" ]
check "list: the three rows, oldest first" $?

run list --json $office $srv
/usr/bin/python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
want = json.load(open("expect.json"))
got = [json.loads(l) for l in lines]
sys.exit(0 if got == [{"enrollments": want, "next_page_token": ""}] else f"{got}")' <stdout
check "list --json: one page object with the three and no token" $?

run list --page-size 1 $office $srv
[ "$rc" -eq 0 ] && [ "$(echo "$out" | sed 1d | awk '{print $1, $2, $3, $4}')" = "$(sed -n 1p rows.want)" ]
check "list --page-size 1: the first row only" $?
echo "$err" | grep -Eq '^sidik status list: more enrollments follow: add --page-token [0-9]+ for the next page, or --all$'
check "list --page-size 1: stderr names the next page's token ('$err')" $?
token=$(echo "$err" | grep -Eo 'page-token [0-9]+' | cut -d' ' -f2)
run list --page-size 1 --page-token "$token" $office $srv
[ "$rc" -eq 0 ] && [ "$(echo "$out" | sed 1d | awk '{print $1, $2, $3, $4}')" = "$(sed -n 2p rows.want)" ]
check "list --page-token: the second row" $?
run list --page-size 1 --all $office $srv
[ "$rc" -eq 0 ] && [ -z "$err" ] && [ "$(echo "$out" | sed 1d | awk '{print $1, $2, $3, $4}')" = "$(cat rows.want)" ]
check "list --page-size 1 --all: every page, one table" $?
run list --page-size 2 --all --json $office $srv
/usr/bin/python3 -c '
import json, sys
pages = [json.loads(l) for l in sys.stdin.read().splitlines()]
want = json.load(open("expect.json"))
ok = len(pages) == 2 and pages[0]["next_page_token"] != "" and pages[1]["next_page_token"] == "" \
    and [e for p in pages for e in p["enrollments"]] == want
sys.exit(0 if ok else f"{pages}")' <stdout
check "list --all --json: one object per page, together the three" $?

status1=$(sed -n 1p rows.want | awk '{print $3}')
run list --status "$status1" $office $srv
[ "$rc" -eq 0 ] && [ "$(echo "$out" | sed 1d | awk '{print $1, $2, $3, $4}')" = "$(awk -v s="$status1" '$3 == s' rows.want)" ]
check "list --status $status1: only those" $?
run list --status rejected $office $srv
[ "$rc" -eq 0 ] && [ "$out" = "no enrollments match" ]; check "list --status rejected: none ('$out')" $?
run list --since 2100-01-01 $office $srv
[ "$rc" -eq 0 ] && [ "$out" = "no enrollments match" ]; check "list --since the future: none" $?
run list --since @0 $office $srv
[ "$rc" -eq 0 ] && [ "$(echo "$out" | sed 1d | wc -l)" -eq 3 ]; check "list --since 0 (ms): all three" $?

# ---- refused by the server: exit 1 (4 for the role) -----------------------------------------------
refused "another office's enrollment" 1 \
    "sidik status get: NOT_FOUND: no enrollment $id1 for office 'BDG-02'; an office sees only its own enrollments: check the id, and that this office captured it (server: no enrollment with this id for the caller)" \
    get "$id1" --ca pki/ca.crt --cert pki/office-BDG-02.crt --key pki/office-BDG-02.key $srv
refused "an admin certificate" 4 \
    "sidik status get: PERMISSION_DENIED: this certificate's role (admin) may not read enrollment status; use an office or auditor certificate (server: the caller's role may not call this method)" \
    get "$id1" --ca pki/ca.crt --cert pki/admin.crt --key pki/admin.key $srv
refused "an auditor listing" 4 \
    "sidik status list: PERMISSION_DENIED: this certificate's role (auditor) may not list enrollments: the listing is an office's own; use the office's certificate, or 'sidik audit search' across offices (server: the caller's role may not call this method)" \
    list --ca pki/ca.crt --cert pki/auditor.crt --key pki/auditor.key $srv
run get "$id1" --ca pki/ca.crt --cert pki/auditor.crt --key pki/auditor.key --server "localhost:$port"
[ "$rc" -eq 0 ] && [ "$(echo "$out" | sed -n 2p | awk '{print $1, $2, $3, $4}')" = "$(sed -n 1p rows.want)" ]
check "an auditor gets any office's enrollment (by host name: localhost)" $?

# ---- no connection: exit 3 (2 for the settings) ---------------------------------------------------------
run list --ca foreign/ca.crt --cert pki/office-JKT-01.crt --key pki/office-JKT-01.key $srv
[ "$rc" -eq 2 ] && [ -z "$out" ] && case $err in
"sidik status list: the server's certificate is not signed by CA foreign/ca.crt ("*"); give the CA that issued sidikd's certificate with --ca or SIDIK_CA") true ;;
*) false ;; esac
check "a foreign CA file: exit 2 naming the CA ('$err')" $?
refused "a missing CA file" 2 \
    "sidik status list: cannot read the CA certificate nowhere/ca.crt: No such file or directory" \
    list --ca nowhere/ca.crt --cert pki/office-JKT-01.crt --key pki/office-JKT-01.key $srv
refused "a key of another certificate" 2 \
    "sidik status list: the client key pki/admin.key does not belong to the certificate pki/office-JKT-01.crt" \
    list --ca pki/ca.crt --cert pki/office-JKT-01.crt --key pki/admin.key $srv
refused "the metrics port" 3 \
    "sidik status list: 127.0.0.1:$mport does not speak TLS 1.3 (unexpected eof while reading); is it sidikd's gRPC port, not the metrics port?" \
    list $office --server "127.0.0.1:$mport"
# A frozen server accepts TCP (the kernel does) but never handshakes: the
# deadline, not a hang.
kill -STOP "$pid"
start=$(date +%s)
refused "a frozen server" 3 \
    "sidik status list: no TLS handshake with 127.0.0.1:$port within 0.5 s; is it sidikd's gRPC port (not the metrics port)?" \
    list $office $srv --timeout 0.5
[ $(( $(date +%s) - start )) -le 3 ]; check "a frozen server: given up on within the timeout" $?
kill -CONT "$pid"

# ---- settings: flags over SIDIK_* over the config file ------------------------------
mkdir -p conf "$HOME/.config/sidik"
printf '# JKT-01 station\nserver = 127.0.0.1:1\nca = ../pki/ca.crt\ncert = ../pki/office-JKT-01.crt\nkey = ../pki/office-JKT-01.key\ntimeout = 5\n' > conf/client.conf
refused "the config file's server" 3 \
    "sidik status list: cannot reach 127.0.0.1:1: connection refused; is sidikd running? set --server or SIDIK_SERVER" \
    list --config conf/client.conf
SIDIK_SERVER=127.0.0.1:$port run list --config conf/client.conf
[ "$rc" -eq 0 ] && [ "$(echo "$out" | sed 1d | wc -l)" -eq 3 ]
check "SIDIK_SERVER overrides the config file; its paths are relative to its folder (rc $rc, '$err')" $?
SIDIK_SERVER=127.0.0.1:1 run list --config conf/client.conf $srv
[ "$rc" -eq 0 ]; check "--server overrides SIDIK_SERVER (rc $rc)" $?
SIDIK_SERVER=127.0.0.1:$port SIDIK_CONFIG=conf/client.conf run list --server 127.0.0.1:1
[ "$rc" -eq 3 ] && [ "$err" = "sidik status list: cannot reach 127.0.0.1:1: connection refused; is sidikd running? set --server or SIDIK_SERVER" ]
check "SIDIK_CONFIG is read, and --server wins over SIDIK_SERVER the other way too" $?
SIDIK_SERVER=127.0.0.1:$port SIDIK_CONFIG=conf/client.conf SIDIK_CERT="$tmp/pki/admin.crt" SIDIK_KEY="$tmp/pki/admin.key" run get "$id1"
[ "$rc" -eq 4 ] && case $err in *"role (admin)"*) true ;; *) false ;; esac
check "SIDIK_CERT and SIDIK_KEY override the config file's" $?
sed "s/127.0.0.1:1/127.0.0.1:$port/; s#\.\./pki#$tmp/pki#g" conf/client.conf > "$HOME/.config/sidik/client.conf"
run list
[ "$rc" -eq 0 ] && [ "$(echo "$out" | sed 1d | wc -l)" -eq 3 ]; check "~/.config/sidik/client.conf is the default (rc $rc, '$err')" $?
mkdir -p xdg/sidik
printf 'server = 127.0.0.1:1\nca = %s/pki/ca.crt\ncert = %s/pki/office-JKT-01.crt\nkey = %s/pki/office-JKT-01.key\n' "$tmp" "$tmp" "$tmp" > xdg/sidik/client.conf
XDG_CONFIG_HOME="$tmp/xdg" run list
[ "$rc" -eq 3 ] && case $err in *"reach 127.0.0.1:1:"*) true ;; *) false ;; esac
check "\$XDG_CONFIG_HOME/sidik/client.conf comes before ~/.config" $?
printf 'server = 127.0.0.1:1\nca = x\n\nsever = y\n' > conf/bad.conf
refused "an unknown key" 2 \
    "sidik status list: conf/bad.conf:4: unknown key 'sever' (known: server, ca, cert, key, timeout)" \
    list --config conf/bad.conf
SIDIK_CONFIG=conf/none.conf refused "SIDIK_CONFIG naming a missing file" 2 \
    "sidik status list: cannot read the config file conf/none.conf (named by SIDIK_CONFIG): No such file or directory" \
    list
SIDIK_TIMEOUT=soon refused "a bad SIDIK_TIMEOUT" 2 \
    "sidik status list: SIDIK_TIMEOUT: expected seconds, such as 30 or 2.5 (at most 3 decimals)" list
rm "$HOME/.config/sidik/client.conf"
refused "no CA anywhere" 2 \
    "sidik status list: no CA certificate given: use --ca FILE, SIDIK_CA, or 'ca = FILE' in ~/.config/sidik/client.conf" \
    list --cert pki/office-JKT-01.crt --key pki/office-JKT-01.key

# ---- the command line: exit 2 -----------------------------------------------------
run --help
[ "$rc" -eq 0 ] && echo "$out" | grep -q '^Exit codes: 0 done; 1 the server answered no' && echo "$out" | grep -q '^Examples:' &&
    echo "$out" | grep -q -- '--server HOST:PORT'
check "--help: examples, exit codes and the connection flags" $?
run list --help
[ "$rc" -eq 0 ] && echo "$out" | grep -q '^usage: sidik status get'; check "list --help" $?
refused "no subcommand" 2 "$("$sidik" status 2>&1 >/dev/null)"
refused "an unknown subcommand" 2 "sidik status: unknown subcommand 'show'; see 'sidik status --help'" show x
refused "get without an id" 2 "sidik status get: needs the enrollment ID; see 'sidik status --help'" get $office
refused "get with two ids" 2 "sidik status get: unexpected 'b'; see 'sidik status --help'" get a b
refused "an unknown option" 2 "sidik status list: unknown option '--bogus'; see 'sidik status --help'" list --bogus
refused "a list option on get" 2 "sidik status get: unknown option '--all'; see 'sidik status --help'" get a --all
refused "--page-size 0" 2 "sidik status list: --page-size '0' is not a number from 1 to 1000; see 'sidik status --help'" list --page-size 0
refused "--status nonsense" 2 "sidik status list: --status 'DONE' is not one of CAPTURED, SENT, RECEIVED, PRINT_READY, DUPLICATE, ADJUDICATE, REJECTED, PRINTED, any; see 'sidik status --help'" list --status DONE
refused "--since nonsense" 2 "sidik status list: --since 'yesterday' is not a time: 2026-12-02, 2026-12-02T10:15:03Z (UTC) or @ and milliseconds since the epoch; see 'sidik status --help'" list --since yesterday
refused "--all with --page-token" 2 "sidik status list: --all starts from the beginning; leave out --page-token; see 'sidik status --help'" list --all --page-token 5
refused "--server without a value" 2 "sidik status list: --server needs a value: HOST:PORT; see 'sidik status --help'" list --server
refused "--server twice" 2 "sidik status list: --server given twice; see 'sidik status --help'" list $srv $srv
refused "a bad --server" 2 "sidik status list: --server: an IPv6 address goes in brackets: [::1]:7443" list --server ::1:7443 $office
refused "a bad --timeout" 2 "sidik status list: --timeout: the timeout must be from 0.001 to 86400 seconds" list --timeout 0 $office
refused "an id that is not printable" 2 "sidik status get: the enrollment ID must be 1-64 printable characters; see 'sidik status --help'" get "$(printf 'a\tb')" $office

# ---- the server gone: exit 3 with the hint -----------------------------------------------
live_stop
refused "sidikd stopped" 3 \
    "sidik status list: cannot reach 127.0.0.1:$port: connection refused; is sidikd running? set --server or SIDIK_SERVER" \
    list $office $srv
[ $fail -eq 0 ] || cat log
exit $fail
