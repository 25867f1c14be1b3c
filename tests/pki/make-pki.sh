#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Generates the throwaway PKI the integration tests probe against: a trusted root and intermediate, one
# leaf per certificate problem tlswatch must report, an unrelated CA, an expired intermediate and a
# client-certificate CA. Dates are relative to "now", so the output is only good for one test run.
set -euo pipefail

if [[ $# -ne 1 ]]; then
        echo "usage: $0 OUTDIR" >&2
        exit 2
fi

mkdir -p "$1"
cd "$1"

# `openssl ca` needs a database and a config; they live in a scratch dir that is removed on exit so
# OUTDIR holds only the PEM files the tests use.
work=$(mktemp -d "$PWD/.ca.XXXXXX")
trap 'rm -rf "$work"' EXIT
: >"$work/index.txt"
mkdir "$work/new"

cat >"$work/openssl.cnf" <<'EOF'
[ ca ]
default_ca = tlswatch_ca

[ tlswatch_ca ]
database = $ENV::TLSWATCH_CADIR/index.txt
new_certs_dir = $ENV::TLSWATCH_CADIR/new
# Random serials: no serial file to keep in step, and no two certs share issuer + serial.
rand_serial = yes
unique_subject = no
default_md = sha256
policy = policy_cn
email_in_dn = no
copy_extensions = none

[ policy_cn ]
commonName = supplied

[ req ]
distinguished_name = req_dn
[ req_dn ]

[ ext_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ ext_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, $ENV::TLSWATCH_KU
extendedKeyUsage = serverAuth
subjectAltName = $ENV::TLSWATCH_SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ ext_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

# OpenSSL resolves every $ENV:: reference when it loads the config, whichever section a call uses, so
# all of them must always be set.
export TLSWATCH_CADIR=$work
export TLSWATCH_KU="digitalSignature"
export TLSWATCH_SAN="DNS:localhost,IP:127.0.0.1,IP:::1"
default_san=$TLSWATCH_SAN

now=$(date -u +%s)
hour=3600
day=86400

# Absolute GeneralizedTime for an offset in seconds from now. OpenSSL 3.0's `ca -startdate/-enddate`
# accept the four-digit-year form although the help text only shows YYMMDDHHMMSSZ.
at() {
        date -u -d "@$((now + $1))" +%Y%m%d%H%M%SZ
}

# genkey NAME ec|rsa2048|rsa1024. EC P-256 wherever the key type is not the point: RSA generation is
# what would make this script slow.
genkey() {
        local -a opts
        case $2 in
        ec)      opts=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) ;;
        rsa2048) opts=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
        rsa1024) opts=(-algorithm RSA -pkeyopt rsa_keygen_bits:1024) ;;
        *) echo "genkey: unknown key type '$2'" >&2; return 1 ;;
        esac
        openssl genpkey "${opts[@]}" -out "$1.key" 2>"$work/log" || { cat "$work/log" >&2; return 1; }
}

# issue NAME CN ISSUER EXT FROM TO [MD]
#   Signs NAME.key into NAME.pem. ISSUER names an existing ISSUER.pem/.key or is "self"; FROM and TO
#   are offsets in seconds from now; MD is the signature digest (sha256).
issue() {
        local name=$1 cn=$2 issuer=$3 ext=$4 from=$5 to=$6 md=${7:-sha256}
        local -a signer

        if [[ $issuer == self ]]; then
                signer=(-selfsign -keyfile "$name.key")
        else
                signer=(-cert "$issuer.pem" -keyfile "$issuer.key")
        fi

        openssl req -new -config "$work/openssl.cnf" -key "$name.key" -subj "/CN=$cn" \
                -out "$work/$name.csr" 2>"$work/log" || { cat "$work/log" >&2; return 1; }
        openssl ca -batch -config "$work/openssl.cnf" -notext -in "$work/$name.csr" -out "$name.pem" \
                "${signer[@]}" -extensions "$ext" -startdate "$(at "$from")" -enddate "$(at "$to")" \
                -md "$md" >"$work/log" 2>&1 || { cat "$work/log" >&2; return 1; }
}

# ca NAME CN ISSUER FROM TO: a CA certificate with an EC key.
ca() {
        genkey "$1" ec
        issue "$1" "$2" "$3" ext_ca "$4" "$5"
}

# leaf NAME CN ISSUER KEYTYPE FROM TO [MD]: a server leaf with the current TLSWATCH_SAN, plus
# NAME-chain.pem (leaf + issuer), the fullchain file a server would be configured with.
leaf() {
        local name=$1 cn=$2 issuer=$3 keytype=$4 from=$5 to=$6 md=${7:-sha256}

        genkey "$name" "$keytype"
        # An RSA key may be used for RSA key exchange (the TLS 1.0 case), which needs keyEncipherment;
        # an EC key only ever signs.
        case $keytype in
        rsa*) TLSWATCH_KU="digitalSignature, keyEncipherment" ;;
        *)    TLSWATCH_KU="digitalSignature" ;;
        esac
        issue "$name" "$cn" "$issuer" ext_server "$from" "$to" "$md"
        cat "$name.pem" "$issuer.pem" >"$name-chain.pem"
}

# The trusted hierarchy. CAs start well in the past so every leaf's validity nests inside its
# issuer's, except where breaking that is the point.
ca root "tlswatch test root" self $((-400 * day)) $((3650 * day))
ca int "tlswatch test intermediate" root $((-400 * day)) $((1825 * day))
cat root.pem int.pem >rootint.pem

# Leaves start an hour ago so small clock differences never make a "good" cert not-yet-valid.
leaf good "tlswatch good" int rsa2048 $((-hour)) $((90 * day))
# ec: the same as good, but with an EC P-256 key.
leaf ec "tlswatch ec" int ec $((-hour)) $((90 * day))
leaf expired "tlswatch expired" int ec $((-30 * day)) $((-2 * day))
leaf notyet "tlswatch notyet" int ec $((2 * day)) $((90 * day))
# 90-day certificates near their end, as expiry is judged by the lifetime: soon10 is past its renew
# point (renewal_overdue, or expires_soon warning with WarnDays=30), soon3 below the floor (critical).
leaf soon10 "tlswatch soon10" int ec $((-80 * day)) $((10 * day))
leaf soon3 "tlswatch soon3" int ec $((-87 * day)) $((3 * day))
# The lifetime classes of the default expiry policy (tlswatch.conf(5), Expiry), each at points of its
# life: lifeD-fresh is OK, lifeD-overdue past the renew point (a third left, half under 10 days:
# renewal_overdue), lifeD-late below the renewal floor (a sixth, at most 7 days: critical).
leaf life6-fresh "tlswatch life6 fresh" int ec $((-day)) $((5 * day))
leaf life6-overdue "tlswatch life6 overdue" int ec $((-84 * hour)) $((60 * hour))
leaf life6-late "tlswatch life6 late" int ec $((-124 * hour)) $((20 * hour))
leaf life45-fresh "tlswatch life45 fresh" int ec $((-10 * day)) $((35 * day))
leaf life45-overdue "tlswatch life45 overdue" int ec $((-32 * day)) $((13 * day))
leaf life45-late "tlswatch life45 late" int ec $((-40 * day)) $((5 * day))
leaf life90-fresh "tlswatch life90 fresh" int ec $((-20 * day)) $((70 * day))
leaf life90-overdue "tlswatch life90 overdue" int ec $((-65 * day)) $((25 * day))
leaf life200-fresh "tlswatch life200 fresh" int ec $((-100 * day)) $((100 * day))
leaf life200-overdue "tlswatch life200 overdue" int ec $((-150 * day)) $((50 * day))
leaf life200-late "tlswatch life200 late" int ec $((-195 * day)) $((5 * day))
leaf rsa1024 "tlswatch rsa1024" int rsa1024 $((-hour)) $((90 * day))
# The intermediate's key is EC, so this is ecdsa-with-SHA1.
leaf sha1 "tlswatch sha1" int ec $((-hour)) $((90 * day)) sha1

TLSWATCH_SAN="DNS:wrong.example"
leaf wrongname "tlswatch wrongname" int ec $((-hour)) $((90 * day))
TLSWATCH_SAN=$default_san

# A self-signed leaf: CA:FALSE like a real one, so verification fails with code 18 (self-signed
# certificate) rather than accepting it as an anchor. No -chain file: it has no issuer.
genkey selfsigned ec
TLSWATCH_KU="digitalSignature"
issue selfsigned "tlswatch selfsigned" self ext_server $((-hour)) $((90 * day))

# An unrelated hierarchy that the tests never trust. The server sends the whole chain including the
# root, so the verifier sees a self-signed certificate in the chain (code 19).
ca otherroot "tlswatch other root" self $((-60 * day)) $((3650 * day))
ca otherint "tlswatch other intermediate" otherroot $((-60 * day)) $((1825 * day))
leaf untrusted "tlswatch untrusted" otherint ec $((-hour)) $((90 * day))
cat untrusted.pem otherint.pem otherroot.pem >untrusted-chain.pem
# What s_server's -cert_chain wants for that case: everything above the leaf.
cat otherint.pem otherroot.pem >otherca-chain.pem

# An intermediate that expired yesterday, with a leaf that is itself perfectly valid.
ca expiredint "tlswatch expired intermediate" root $((-30 * day)) $((-1 * day))
leaf underexpiredint "tlswatch under expired intermediate" expiredint ec $((-hour)) $((60 * day))

# Client certificates come from their own root, so a server certificate from the trusted hierarchy
# is not an acceptable client certificate.
ca clientca "tlswatch test client ca" self $((-60 * day)) $((3650 * day))
genkey client ec
issue client "tlswatch test client" clientca ext_client $((-hour)) $((90 * day))

chmod 600 ./*.key
