#!/bin/sh
# Makes the certificates of the TLS tests in DIR (tests/tls_fixture.c runs
# it at test time; nothing is committed, so nothing expires in the tree):
#   ca.crt/ca.key            the CA the tests trust
#   server.crt/server.key    for 127.0.0.1 and localhost, by the CA
#   client.crt/client.key    a client certificate, by the CA
#   other-ca.crt             a CA the tests do not trust...
#   other.crt                ...and the server's key certified by it
#   expired.crt              the server's key, by the CA, already expired
# Usage: tests/tls_certs.sh DIR
set -eu
dir=$1
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 3650 \
		-subj "/CN=tutorcache test $1" 2>/dev/null
}
# sign NAME CA DAYS SAN: server.key's or NAME.key's request, signed
sign() {
	k=server.key
	[ "$1" = client ] && k=client.key
	printf 'basicConstraints=CA:FALSE\nsubjectAltName=%s\n' "$4" > "$1.ext"
	openssl req -new -key "$k" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" \
		-CAcreateserial -days "$3" -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
ca ca
ca other-ca
key server.key
key client.key
sign server ca 3650 "IP:127.0.0.1,DNS:localhost"
sign client ca 3650 "DNS:client"
sign other other-ca 3650 "IP:127.0.0.1,DNS:localhost"
sign expired ca -1 "IP:127.0.0.1,DNS:localhost"
chmod 600 ./*.key
