#!/bin/sh
# EXAMPLE-ONLY certificates and keys for the configurations in examples/.
# Their private keys are public (they are in the repository): never use them for real tunnels.
# Regenerate with: sh examples/certs/make-certs.sh (needs the openssl command).
set -eu
cd "$(dirname "$0")"
days=7300

# The example CA (ECDSA P-256). Its key is not kept: nothing here needs to sign again.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key.tmp -out ca.pem -days "$days" -sha256 \
    -subj "/C=XX/O=ike example (DO NOT USE)/CN=ike Example CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"

# issue NAME KEYTYPE-ARGS...: a key NAME.key.pem and a certificate NAME.pem for DNS:NAME.
issue() {
    name=$1; shift
    openssl genpkey "$@" -out "$name.key.pem"
    openssl req -new -key "$name.key.pem" -out "$name.csr.tmp" \
        -subj "/C=XX/O=ike example (DO NOT USE)/CN=$name"
    openssl x509 -req -in "$name.csr.tmp" -CA ca.pem -CAkey ca.key.tmp -CAcreateserial \
        -out "$name.pem" -days "$days" -sha256 -extfile /dev/stdin <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectAltName=DNS:$name
authorityKeyIdentifier=keyid
EXT
    rm -f "$name.csr.tmp"
}

issue a.example.org -algorithm EC -pkeyopt ec_paramgen_curve:P-256
issue b.example.org -algorithm RSA -pkeyopt rsa_keygen_bits:2048
issue vpn.example.org -algorithm EC -pkeyopt ec_paramgen_curve:P-256
rm -f ca.key.tmp ca.srl
