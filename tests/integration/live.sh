# What the integration scripts that run a live sidikd share; sourced after
# they set sidikd (the binary) and src (the source tree).
#
#   live_setup        a scratch folder, entered; on exit sidikd is killed and
#                     the folder removed
#   live_conf [LINE]  ./sidikd.conf: the dev PKI in ./pki (made here), ports
#                     the kernel picks, data in ./data, then each LINE
#   live_start        starts sidikd on sidikd.conf (its log appended to ./log;
#                     environment as the caller exports it); sets pid, port
#                     and mport; when it does not start, shows the log and
#                     exits 1
#   live_wait [N]     its exit status once it exits (124: not within N tenths
#                     of a second, default 150)
#   live_stop         SIGTERM, then live_wait
#   check WHAT RC     prints ok/FAIL; a FAIL sets fail=1

fail=0
pid=
check() { if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }

live_setup() {
    tmp=$(mktemp -d)
    trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
    cd "$tmp" || exit 1
}

live_conf() {
    [ -f pki/ca.crt ] || sh "$src/deploy/pki.sh" pki >/dev/null || { echo "FAIL: pki.sh"; exit 1; }
    {
        printf 'listen = 127.0.0.1:0\nmetrics_listen = 127.0.0.1:0\ndata_dir = data\n'
        printf 'print_key = data/print-signing.key\n'
        printf 'tls_ca = pki/ca.crt\ntls_cert = pki/server.crt\ntls_key = pki/server.key\n'
        for line in "$@"; do printf '%s\n' "$line"; done
    } > sidikd.conf
}

live_start() {
    "$sidikd" --config sidikd.conf 2>> log &
    pid=$!
    port=
    for _ in $(seq 1 100); do
        port=$(grep -o 'msg="listening".*port=[0-9]*' log 2>/dev/null | tail -n 1 | grep -o 'port=[0-9]*' | cut -d= -f2)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    mport=$(grep -o 'metrics_port=[0-9]*' log 2>/dev/null | tail -n 1 | cut -d= -f2)
    if [ -z "$port" ]; then
        echo "FAIL: sidikd did not start"
        cat log
        exit 1
    fi
}

live_wait() {
    rc=124
    for _ in $(seq 1 "${1:-150}"); do
        if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; break; fi
        sleep 0.1
    done
    pid=
    return $rc
}

live_stop() {
    kill -TERM "$pid" 2>/dev/null
    live_wait 150
}
