#!/usr/bin/env bash
# Creates a self-signed certificate for 127.0.0.1/localhost in DIR (cert.pem, key.pem) unless
# one is already there.
set -euo pipefail
dir=${1:?usage: make-cert.sh DIR}
mkdir -p "$dir"
[ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && exit 0
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
chmod 600 "$dir/key.pem"
