#!/bin/sh
# A development PKI for sidik, made with the openssl command line.
#
#   deploy/pki.sh DIR                 CA, server, and one client per role (see below)
#   deploy/pki.sh DIR client ROLE NAME [--expired]
#                                     one more client certificate signed by DIR's CA
#   deploy/pki.sh DIR ca              only the CA (used for a foreign CA in tests)
#
# Identity is in the client certificate's subject (DESIGN.md decision 2):
#   OU = the role: office, auditor, admin or printer
#   CN = who: the office code for an office (JKT-01), the print region for a
#        printer (31.71), a person's login for an auditor or an admin.
# sidikd reads exactly these two fields; nothing else in a certificate grants
# anything.
#
# Keys are ECDSA P-256 (what every gRPC stack, BoringSSL's included, accepts
# for TLS 1.3), certificates last 825 days (the longest most clients accept),
# the server's names are localhost and 127.0.0.1. Existing files are kept, so
# running it again never replaces a CA that issued live certificates.
# Production uses the programme's real CA; this script is for development,
# tests and `make demo`.
set -eu

dir=${1:?usage: deploy/pki.sh DIR [ca | client ROLE NAME [--expired]]}
what=${2:-all}
mkdir -p "$dir"
cd "$dir"
umask 077

key() { [ -f "$1.key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

ca() {
    [ -f ca.crt ] && return 0
    key ca
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=sidik dev/CN=sidik dev CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
}

# sign NAME SUBJECT EXTENSIONS [STARTDATE ENDDATE]
sign() {
    key "$1"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
    printf '%s\n' "$3" > "$1.ext"
    if [ $# -ge 5 ]; then
        # A certificate valid only in the past: `openssl ca` is the one
        # command that takes explicit dates.
        mkdir -p .ca/new && : > .ca/index.txt
        [ -f .ca/serial ] || echo 1000 > .ca/serial
        cat > .ca/ca.cnf <<EOF
[ca]
default_ca = dev
[dev]
database = .ca/index.txt
new_certs_dir = .ca/new
serial = .ca/serial
default_md = sha256
policy = any
unique_subject = no
[any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
EOF
        openssl ca -batch -notext -config .ca/ca.cnf -cert ca.crt -keyfile ca.key -in "$1.csr" \
            -startdate "$4" -enddate "$5" -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    else
        openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
            -days 825 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    fi
    rm -f "$1.csr" "$1.ext"
}

client() {
    role=$1 name=$2 file=$3
    case $role in office | auditor | admin | printer) ;; *) echo "unknown role: $role" >&2; exit 2 ;; esac
    [ -f "$file.crt" ] && return 0
    ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
    if [ "${4:-}" = --expired ]; then
        sign "$file" "/O=sidik dev/OU=$role/CN=$name" "$ext" 20200101000000Z 20200201000000Z
    else
        sign "$file" "/O=sidik dev/OU=$role/CN=$name" "$ext"
    fi
}

case $what in
ca) ca ;;
client)
    ca
    role=${3:?role}
    name=${4:?name}
    client "$role" "$name" "$role-$(echo "$name" | tr -c 'A-Za-z0-9.\n-' _)" "${5:-}"
    ;;
all)
    ca
    [ -f server.crt ] || sign server "/O=sidik dev/CN=sidikd" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
    client office JKT-01 office-JKT-01
    client office BDG-02 office-BDG-02
    client auditor auditor.dewi auditor
    client admin admin.budi admin
    client printer 31.71 printer
    ;;
*) echo "usage: deploy/pki.sh DIR [ca | client ROLE NAME [--expired]]" >&2; exit 2 ;;
esac
