#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes the certificate seeds of fuzz-cert-chain in DIR at run time (none is checked in, so none can
# expire): a root, an intermediate and a leaf for localhost/127.0.0.1, as PEM chains in and out of
# order, DER, and a certfile with its key, the shapes an operator's CertFile= holds.
set -euo pipefail

dir=${1:?usage: make-cert-seeds.sh DIR}
openssl=${OPENSSL:-openssl}
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

key() { "$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$1.key" 2>/dev/null; }
key root
key inter
key leaf
"$openssl" req -x509 -new -key "$work/root.key" -subj /CN=fuzz-root -days 3650 -out "$work/root.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
"$openssl" req -new -key "$work/inter.key" -subj /CN=fuzz-intermediate -out "$work/inter.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$work/inter.ext"
"$openssl" x509 -req -in "$work/inter.csr" -CA "$work/root.pem" -CAkey "$work/root.key" -CAcreateserial \
        -days 1825 -extfile "$work/inter.ext" -out "$work/inter.pem" 2>/dev/null
"$openssl" req -new -key "$work/leaf.key" -subj /CN=localhost -out "$work/leaf.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' \
        >"$work/leaf.ext"
"$openssl" x509 -req -in "$work/leaf.csr" -CA "$work/inter.pem" -CAkey "$work/inter.key" -CAcreateserial \
        -days 20 -extfile "$work/leaf.ext" -out "$work/leaf.pem" 2>/dev/null

cat "$work/leaf.pem" "$work/inter.pem" "$work/root.pem" >"$dir/chain.pem"
cat "$work/leaf.pem" "$work/root.pem" "$work/inter.pem" >"$dir/chain-out-of-order.pem"
cat "$work/leaf.pem" "$work/root.pem" >"$dir/chain-missing-intermediate.pem"
cat "$work/root.pem" >"$dir/self-signed.pem"
cat "$work/leaf.key" "$work/leaf.pem" "$work/inter.pem" >"$dir/certfile-with-key.pem"
"$openssl" x509 -in "$work/leaf.pem" -outform DER -out "$dir/leaf.der"

# For fuzz-cert-diff, which reads a file's first half as the old path and its second as the new: a
# renewal under another intermediate, with another key, a SAN dropped and clientAuth dropped.
key inter2
key leaf2
"$openssl" req -new -key "$work/inter2.key" -subj /CN=fuzz-intermediate-2 -out "$work/inter2.csr" 2>/dev/null
"$openssl" x509 -req -in "$work/inter2.csr" -CA "$work/root.pem" -CAkey "$work/root.key" -CAcreateserial \
        -days 1825 -extfile "$work/inter.ext" -out "$work/inter2.pem" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth,clientAuth\n' \
        >"$work/old.ext"
"$openssl" x509 -req -in "$work/leaf.csr" -CA "$work/inter.pem" -CAkey "$work/inter.key" -CAcreateserial \
        -days 90 -extfile "$work/old.ext" -out "$work/old.pem" 2>/dev/null
"$openssl" req -new -key "$work/leaf2.key" -subj /CN=localhost -out "$work/leaf2.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$work/leaf2.ext"
"$openssl" x509 -req -in "$work/leaf2.csr" -CA "$work/inter2.pem" -CAkey "$work/inter2.key" -CAcreateserial \
        -days 6 -extfile "$work/leaf2.ext" -out "$work/leaf2.pem" 2>/dev/null
cat "$work/old.pem" "$work/inter.pem" "$work/root.pem" "$work/leaf2.pem" "$work/inter2.pem" "$work/root.pem" \
        >"$dir/renewal-new-intermediate.pem"
cat "$work/old.pem" "$work/inter.pem" "$work/leaf.pem" "$work/inter.pem" >"$dir/renewal-same-key.pem"
cp "$dir/renewal-same-key.pem" "$dir/renewal-partial.pem" && printf 'x' >>"$dir/renewal-partial.pem"
