#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlswatchctl inspect and lint against real files laid out as the seed describes: a Let's Encrypt-shaped
# set (cert.pem chain.pem fullchain.pem privkey.pem) and the broken variants operators produce (wrong
# key, cert.pem as certfile, reversed order, root included, world-readable or encrypted key, a leaf or
# an intermediate as cacertfile, DER, truncated PEM, an empty file, a directory). All made at run time.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

need_programs TLSWATCHCTL
make_tmp
make_pki
le=$tmp/letsencrypt
mkdir -p "$le"
cp "$pki/good.pem" "$le/cert.pem"
cp "$pki/int.pem" "$le/chain.pem"
cat "$pki/good.pem" "$pki/int.pem" >"$le/fullchain.pem"
cp "$pki/good.key" "$le/privkey.pem"
chmod 600 "$le/privkey.pem"
# The seed's self-signed demo set: ca.pem, server.pem / server-fullchain.pem / server.key, and the
# client side (client.pem / client-fullchain.pem / client.key) for two-way TLS.
demo=$tmp/selfsigned
mkdir -p "$demo"
cp "$pki/root.pem" "$demo/ca.pem"
cp "$pki/good.pem" "$demo/server.pem"
cat "$pki/good.pem" "$pki/int.pem" >"$demo/server-fullchain.pem"
install -m 600 "$pki/good.key" "$demo/server.key"
cp "$pki/client.pem" "$demo/client.pem"
cat "$pki/client.pem" "$pki/clientca.pem" >"$demo/client-fullchain.pem"
install -m 600 "$pki/client.key" "$demo/client.key"
cp "$pki/clientca.pem" "$demo/client-ca.pem"
cat "$pki/int.pem" "$pki/good.pem" >"$tmp/reversed.pem"
cat "$pki/good.pem" "$pki/int.pem" "$pki/root.pem" >"$tmp/withroot.pem"
cp "$pki/good.key" "$tmp/open.key"
chmod 644 "$tmp/open.key"
openssl pkey -in "$pki/good.key" -aes256 -passout pass:secret -out "$tmp/encrypted.key" 2>/dev/null
chmod 600 "$tmp/encrypted.key"
cp "$pki/ec.key" "$tmp/other.key"
chmod 600 "$tmp/other.key"
openssl x509 -in "$pki/good.pem" -outform der -out "$tmp/cert.der"
head -c 300 "$pki/good.pem" >"$tmp/truncated.pem"
: >"$tmp/empty.pem"
openssl req -new -key "$pki/good.key" -subj /CN=csr -out "$tmp/request.csr" 2>/dev/null
for name in expired rsa1024 sha1; do
        cat "$pki/$name.pem" "$pki/int.pem" >"$tmp/$name-chain.pem"
        cp "$pki/$name.key" "$tmp/$name.key"
        chmod 600 "$tmp/$name.key"
done

# lint_case NAME EXIT CODE[~REGEX]|@none ARGS...: lint's exit status, and a problem code it must report
# (with a message matching REGEX).
lint_case() {
        local name=$1 want_rc=$2 code=${3%%\~*} regex="" out rc
        [[ $3 == *\~* ]] && regex=${3#*\~}
        shift 3
        out=$(timeout 30 "$TLSWATCHCTL" lint --json --ca-file "$pki/root.pem" "$@" 2>&1)
        rc=$?
        if [[ $rc -ne $want_rc ]]; then
                report "lint $name: exit $rc, expected $want_rc" "$out"
        elif [[ $code == @none ]] && ! jq -e '.problems | length == 0' <<<"$out" >/dev/null; then
                report "lint $name: expected no problems" "$out"
        elif [[ $code != @none ]] && ! jq -e --arg c "$code" --arg re "$regex" \
                'any(.problems[]; .code == $c and (.message | test($re)))' <<<"$out" >/dev/null; then
                report "lint $name: no $code${regex:+ with a message matching /$regex/}" "$out"
        else
                report "lint $name"
        fi
}

lint_case "fullchain + privkey" 0 @none --certfile "$le/fullchain.pem" --keyfile "$le/privkey.pem"
lint_case "self-signed set: server-fullchain, server.key, two-way" 0 @none --certfile "$demo/server-fullchain.pem" \
        --keyfile "$demo/server.key" --cacertfile "$demo/client-ca.pem" --ca-file "$demo/ca.pem"
lint_case "self-signed set: server.pem as certfile" 2 incomplete_chain --certfile "$demo/server.pem" \
        --keyfile "$demo/server.key" --ca-file "$demo/ca.pem"
lint_case "self-signed set: client.key as keyfile" 2 key_mismatch --certfile "$demo/server-fullchain.pem" \
        --keyfile "$demo/client.key" --ca-file "$demo/ca.pem"
lint_case "cert.pem as certfile" 2 'incomplete_chain~^the certfile holds only' --certfile "$le/cert.pem" --keyfile "$le/privkey.pem"
lint_case "wrong key" 2 key_mismatch --certfile "$le/fullchain.pem" --keyfile "$tmp/other.key"
lint_case "a certificate as keyfile" 2 key_mismatch --certfile "$le/fullchain.pem" --keyfile "$le/chain.pem"
lint_case "encrypted key" 2 key_mismatch --certfile "$le/fullchain.pem" --keyfile "$tmp/encrypted.key"
lint_case "reversed order" 2 certfile_order --certfile "$tmp/reversed.pem" --keyfile "$le/privkey.pem"
lint_case "root included (a note)" 0 root_in_certfile --certfile "$tmp/withroot.pem" --keyfile "$le/privkey.pem"
lint_case "key readable by all" 1 key_permissions --certfile "$le/fullchain.pem" --keyfile "$tmp/open.key"
lint_case "leaf as cacertfile" 2 cacertfile_not_ca --certfile "$le/fullchain.pem" --keyfile "$le/privkey.pem" \
        --cacertfile "$pki/client.pem"
lint_case "intermediate as cacertfile" 1 cacertfile_not_root --certfile "$le/fullchain.pem" \
        --keyfile "$le/privkey.pem" --cacertfile "$le/chain.pem"
lint_case "client CA as cacertfile" 0 @none --certfile "$le/fullchain.pem" --keyfile "$le/privkey.pem" \
        --cacertfile "$pki/clientca.pem"
lint_case "untrusted chain" 2 chain_unverified --certfile "$le/fullchain.pem" --keyfile "$le/privkey.pem" \
        --ca-file "$pki/otherroot.pem"
lint_case "expired certificate" 2 expired --certfile "$tmp/expired-chain.pem" --keyfile "$tmp/expired.key"
lint_case "RSA-1024 key" 1 weak_key --certfile "$tmp/rsa1024-chain.pem" --keyfile "$tmp/rsa1024.key"
lint_case "SHA-1 signature" 1 weak_signature --certfile "$tmp/sha1-chain.pem" --keyfile "$tmp/sha1.key"

out=$("$TLSWATCHCTL" lint --certfile "$tmp/missing.pem" --keyfile "$le/privkey.pem" 2>&1)
rc=$?
if [[ $rc -eq 3 && $out == *missing.pem* ]]; then
        report "lint: a missing file is exit 3, named"
else
        report "lint: a missing file (exit $rc)" "$out"
fi

# inspect_case NAME EXIT JQ-FILTER FILE: inspect --json of one file.
inspect_case() {
        local name=$1 want_rc=$2 filter=$3 out rc
        shift 3
        out=$(timeout 30 "$TLSWATCHCTL" inspect --json "$@" 2>&1)
        rc=$?
        if [[ $rc -ne $want_rc ]]; then
                report "inspect $name: exit $rc, expected $want_rc" "$out"
        elif ! jq -e ".[0] | $filter" <<<"$out" >/dev/null; then
                report "inspect $name: not $filter" "$out"
        else
                report "inspect $name"
        fi
}

inspect_case "fullchain" 0 '(.certificates | length == 2) and .chain.ordered and (.chain.root_included | not) and
        (.certificates[0].subject_alt_names | any(.[]; test("localhost")))' "$le/fullchain.pem"
inspect_case "client-fullchain (client and its root)" 0 '(.certificates | length == 2) and .chain.ordered and
        .chain.root_included' "$demo/client-fullchain.pem"
inspect_case "reversed" 0 '(.chain.ordered | not) and .chain.break_after == 0' "$tmp/reversed.pem"
inspect_case "root included" 0 '.chain.root_included' "$tmp/withroot.pem"
inspect_case "private key" 0 '.items[0].type == "private key" and (.items[0].key | test("RSA 2048"))' \
        "$le/privkey.pem"
inspect_case "encrypted key" 0 '.items[0].type == "encrypted private key"' "$tmp/encrypted.key"
inspect_case "CSR" 0 '.items[0].type == "certificate request (CSR)"' "$tmp/request.csr"
inspect_case "DER" 0 '.der and .items[0].type == "certificate"' "$tmp/cert.der"
inspect_case "truncated PEM" 3 '.problem | test("truncated")' "$tmp/truncated.pem"
inspect_case "empty file" 3 '.problem | test("empty")' "$tmp/empty.pem"
inspect_case "directory" 3 '.error | test("directory")' "$tmp"
out=$("$TLSWATCHCTL" inspect "$le/fullchain.pem" 2>&1)
if [[ $out == *"chain: ordered"* && $out == *"root: not included"* ]]; then
        report "inspect: human output"
else
        report "inspect: human output" "$out"
fi

summary
