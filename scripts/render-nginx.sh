#!/usr/bin/env bash
# Renders nginx/*.template into RUN_DIR. Every value comes from the environment:
#   RUN_DIR (required), HTTPS_PORT (8443), LISTEN_ADDR (127.0.0.1), FCGI_ADDR
#   (unix:$RUN_DIR/fcgi.sock), TLS_CERT, TLS_KEY, REQUEST_TIMEOUT (30), WORKER_PROCESSES (1),
#   UPSTREAM_KEEPALIVE (32), ACCESS_LOG ($RUN_DIR/access.log), ERROR_LOG ($RUN_DIR/error.log),
#   NGINX_USER (www-data when run as root; nginx runs unprivileged workers).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
: "${RUN_DIR:?RUN_DIR is required}"
HTTPS_PORT=${HTTPS_PORT:-8443}
LISTEN_ADDR=${LISTEN_ADDR:-127.0.0.1}
FCGI_ADDR=${FCGI_ADDR:-unix:$RUN_DIR/fcgi.sock}
TLS_CERT=${TLS_CERT:-$RUN_DIR/tls/cert.pem}
TLS_KEY=${TLS_KEY:-$RUN_DIR/tls/key.pem}
REQUEST_TIMEOUT=${REQUEST_TIMEOUT:-30}
WORKER_PROCESSES=${WORKER_PROCESSES:-1}
UPSTREAM_KEEPALIVE=${UPSTREAM_KEEPALIVE:-32}
ACCESS_LOG=${ACCESS_LOG:-$RUN_DIR/access.log}
ERROR_LOG=${ERROR_LOG:-$RUN_DIR/error.log}
if [ "$(id -u)" -eq 0 ]; then USER_LINE="user ${NGINX_USER:-www-data};"; else USER_LINE=""; fi
render() {
  sed -e "s|@USER_LINE@|$USER_LINE|g" -e "s|@WORKER_PROCESSES@|$WORKER_PROCESSES|g" \
      -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@NGINX_DIR@|$RUN_DIR|g" \
      -e "s|@ERROR_LOG@|$ERROR_LOG|g" -e "s|@ACCESS_LOG@|$ACCESS_LOG|g" \
      -e "s|@FCGI_ADDR@|$FCGI_ADDR|g" -e "s|@UPSTREAM_KEEPALIVE@|$UPSTREAM_KEEPALIVE|g" \
      -e "s|@LISTEN_ADDR@|$LISTEN_ADDR|g" -e "s|@HTTPS_PORT@|$HTTPS_PORT|g" \
      -e "s|@TLS_CERT@|$TLS_CERT|g" -e "s|@TLS_KEY@|$TLS_KEY|g" \
      -e "s|@REQUEST_TIMEOUT@|$REQUEST_TIMEOUT|g" "$1"
}
mkdir -p "$RUN_DIR"
render "$here/nginx/nginx.conf.template" >"$RUN_DIR/nginx.conf"
render "$here/nginx/fastcgi.conf.template" >"$RUN_DIR/fastcgi.conf"
# Comments may name the @NAME@ syntax; only directives must be filled.
if grep -v '^[[:space:]]*#' "$RUN_DIR/nginx.conf" "$RUN_DIR/fastcgi.conf" | grep -q '@[A-Z_]*@'; then
  echo "render-nginx: unfilled placeholder" >&2; exit 1
fi
