# Shared by the tests/cli/test_*.sh scripts: source it after setting `sidik`
# (the binary) and `subcommand` (the command under test, "" for none).
#
#   check DESC STATUS        prints ok/FAIL; a FAIL makes the script exit 1
#   run ARGS...              runs `sidik $subcommand ARGS`; sets rc, out, err
#   refused DESC RC ERR ARGS the run exits RC, prints exactly ERR on stderr
#                            and nothing on stdout
# $tmp is a scratch folder removed on exit (write permission restored first,
# so tests may make parts of it read-only).
fail=0
check() { # description, condition status
    if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}

tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

run() {
    if [ -n "$subcommand" ]; then
        "$sidik" "$subcommand" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    else
        "$sidik" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    fi
    rc=$?
    out=$(cat "$tmp/stdout")
    err=$(cat "$tmp/stderr")
}

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
