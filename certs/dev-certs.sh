#!/usr/bin/env bash
# Makes a development CA and a serving certificate for pullguard's webhook (and the test harness).
# Idempotent: leaves existing files alone while they are complete, match each other and the service
# name, and stay valid for more than a day; re-issues only the serving certificate when the CA is
# still good; --force regenerates everything.
#
#   certs/dev-certs.sh [--force] [--san IP:192.168.1.20] [--san DNS:dev.example] ...
#   --san: an extra name for the serving certificate (repeatable), e.g. the address a cluster reaches you at
#   env: OUT_DIR (default certs/out), SERVICE (default pullguard), NAMESPACE (default pullguard),
#        DAYS (serving certificate lifetime, default 365)
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

force=0
extra_dns=() extra_ips=()
add_san() {
  case "$1" in
    DNS:?*) [[ ${1#DNS:} =~ ^[A-Za-z0-9*]([-A-Za-z0-9.]*[A-Za-z0-9])?$ ]] && { extra_dns+=("${1#DNS:}"); return; } ;;
    IP:?*) [[ ${1#IP:} =~ ^[0-9A-Fa-f.:]+$ ]] && { extra_ips+=("${1#IP:}"); return; } ;;
  esac
  echo "dev-certs.sh: --san wants IP:<address> or DNS:<name>, got: $1" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --force) force=1 ;;
    --san) [[ $# -ge 2 ]] || { echo "dev-certs.sh: --san needs a value" >&2; exit 2; }; add_san "$2"; shift ;;
    --san=*) add_san "${1#--san=}" ;;
    -h|--help) usage; exit 0 ;;
    *) echo "dev-certs.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${OUT_DIR:-$script_dir/out}
SERVICE=${SERVICE:-pullguard}
NAMESPACE=${NAMESPACE:-pullguard}
DAYS=${DAYS:-365}

command -v openssl >/dev/null || { echo "dev-certs.sh: openssl not found" >&2; exit 1; }

ca_crt=$OUT_DIR/ca.crt ca_key=$OUT_DIR/ca.key tls_crt=$OUT_DIR/tls.crt tls_key=$OUT_DIR/tls.key

dns_names=(localhost "$SERVICE" "$SERVICE.$NAMESPACE" "$SERVICE.$NAMESPACE.svc" "$SERVICE.$NAMESPACE.svc.cluster.local" ${extra_dns[@]+"${extra_dns[@]}"})
ip_addresses=(127.0.0.1 ::1 ${extra_ips[@]+"${extra_ips[@]}"})

# The CA is reused while it is complete and valid, so a caBundle already handed out keeps working.
ca_current() {
  [[ -s $ca_crt && -s $ca_key ]] || return 1
  openssl x509 -in "$ca_crt" -noout -checkend 86400 >/dev/null 2>&1 || return 1
  [[ $(openssl x509 -in "$ca_crt" -noout -pubkey 2>/dev/null) == "$(openssl pkey -in "$ca_key" -pubout 2>/dev/null)" ]] || return 1
}

# The serving certificate is kept only if all of these hold; any failure means re-issue it.
tls_current() {
  [[ -s $tls_crt && -s $tls_key ]] || return 1
  openssl x509 -in "$tls_crt" -noout -checkend 86400 >/dev/null 2>&1 || return 1
  openssl verify -CAfile "$ca_crt" "$tls_crt" >/dev/null 2>&1 || return 1
  [[ $(openssl x509 -in "$tls_crt" -noout -pubkey 2>/dev/null) == "$(openssl pkey -in "$tls_key" -pubout 2>/dev/null)" ]] || return 1
  # It must name this SERVICE/NAMESPACE.
  openssl x509 -in "$tls_crt" -noout -checkhost "$SERVICE.$NAMESPACE.svc" 2>/dev/null | grep -q 'does match' || return 1
  # ...and every --san asked for this time.
  local n
  for n in ${extra_dns[@]+"${extra_dns[@]}"}; do
    openssl x509 -in "$tls_crt" -noout -checkhost "$n" 2>/dev/null | grep -q 'does match' || return 1
  done
  for n in ${extra_ips[@]+"${extra_ips[@]}"}; do
    openssl x509 -in "$tls_crt" -noout -checkip "$n" 2>/dev/null | grep -q 'does match' || return 1
  done
}

reuse_ca=0
if [[ $force == 0 ]] && ca_current; then
  reuse_ca=1
  if tls_current; then
    echo "dev-certs.sh: $OUT_DIR is current (use --force to regenerate)"
    exit 0
  fi
fi

mkdir -p "$OUT_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

san=""
for n in "${dns_names[@]}"; do san+="${san:+,}DNS:$n"; done
for n in "${ip_addresses[@]}"; do san+=",IP:$n"; done

cat >"$work/ca.ext" <<EXT
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
EXT
cat >"$work/tls.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=$san
EXT

# Build everything in the work dir, then move into place, so a failure never leaves a half-made set.
if [[ $reuse_ca == 1 ]]; then
  cp "$ca_crt" "$work/ca.crt"; cp "$ca_key" "$work/ca.key"
else
  openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key.sec1"
  openssl pkcs8 -topk8 -nocrypt -in "$work/ca.key.sec1" -out "$work/ca.key"
  openssl req -new -key "$work/ca.key" -subj "/CN=pullguard dev CA" -out "$work/ca.csr"
  openssl x509 -req -in "$work/ca.csr" -signkey "$work/ca.key" -days 3650 -sha256 \
    -extfile "$work/ca.ext" -out "$work/ca.crt" 2>/dev/null
fi

openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.key.sec1"
openssl pkcs8 -topk8 -nocrypt -in "$work/tls.key.sec1" -out "$work/tls.key"
openssl req -new -key "$work/tls.key" -subj "/CN=$SERVICE.$NAMESPACE.svc" -out "$work/tls.csr"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -days "$DAYS" -sha256 -extfile "$work/tls.ext" -out "$work/tls.crt" 2>/dev/null

chmod 600 "$work/ca.key" "$work/tls.key"
chmod 644 "$work/ca.crt" "$work/tls.crt"
for f in ca.key ca.crt tls.key tls.crt; do mv -f "$work/$f" "$OUT_DIR/$f"; done
if [[ $reuse_ca == 1 ]]; then
  echo "dev-certs.sh: re-issued $OUT_DIR/tls.crt for $SERVICE.$NAMESPACE (CA kept)"
else
  echo "dev-certs.sh: wrote $OUT_DIR/{ca.crt,ca.key,tls.crt,tls.key} for $SERVICE.$NAMESPACE"
fi
