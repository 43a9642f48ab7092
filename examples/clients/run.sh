#!/usr/bin/env bash
# Generated clients (README: Generated clients): start the gateway on its embedded default config
# (config/gateway.toml, its ports moved to free ones), fetch /openapi.json, check it with an
# independent validator (openapi-spec-validator), generate a TypeScript client (openapi-typescript
# + openapi-fetch) and a Python client (openapi-python-client) from it, and run each one's example
# against the gateway. Installs the pinned tools into typescript/node_modules and python/.venv
# (git-ignored; reinstalled when the pins change), stops the gateway it started, and exits non-zero
# on any failure, including a generator warning. Every step is bounded by a timeout.
# Needs: node + npm, python3 (3.10+), cargo. GATEWAY_BIN=path skips the build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
ts="$here/typescript"
py="$here/python"
work="$(mktemp -d)"
gateway_pid=""

cleanup() {
  if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

step() { echo "== clients: $*"; }

# The pinned tools, reinstalled when the pins changed since the last install (a stamp inside each folder).
if [ ! -x "$py/.venv/bin/openapi-python-client" ] || ! cmp -s "$py/requirements.txt" "$py/.venv/.stamp"; then
  step "pip install (openapi-python-client, openapi-spec-validator)"
  rm -rf "$py/.venv"
  python3 -m venv "$py/.venv"
  timeout 300 "$py/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$py/requirements.txt"
  cp "$py/requirements.txt" "$py/.venv/.stamp"
fi
if [ ! -x "$ts/node_modules/.bin/openapi-typescript" ] || ! cmp -s "$ts/package-lock.json" "$ts/node_modules/.stamp"; then
  step "npm ci (openapi-typescript, openapi-fetch, typescript)"
  (cd "$ts" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$ts/package-lock.json" "$ts/node_modules/.stamp"
fi

gateway="${GATEWAY_BIN:-}"
if [ -z "$gateway" ]; then
  step "cargo build"
  (cd "$repo" && timeout 1800 cargo build --locked --bin checkout-gateway)
  gateway="$repo/target/debug/checkout-gateway"
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
simulators="$(free_port)"
for fixed in 127.0.0.1:8080 127.0.0.1:8081; do
  grep -q "$fixed" "$repo/config/gateway.toml" || { echo "config/gateway.toml no longer uses $fixed: update $0"; exit 1; }
done
sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$port/g" -e "s/127\.0\.0\.1:8081/127.0.0.1:$simulators/g" \
  "$repo/config/gateway.toml" >"$work/gateway.toml"
base="http://127.0.0.1:$port"

step "start the gateway on the embedded default ($base)"
# The generated config is the whole config: no CHECKOUT_GATEWAY* override from this environment.
env $(compgen -e | grep '^CHECKOUT_GATEWAY' | sed 's/^/-u /') \
  "$gateway" serve --config "$work/gateway.toml" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
python3 - "$base" "$gateway_pid" <<'PY' || { echo "the gateway did not start:"; tail -40 "$work/gateway.log"; exit 1; }
import os, sys, time, urllib.error, urllib.request
base, pid, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
        sys.exit(0)
    except (OSError, urllib.error.URLError):
        time.sleep(0.1)
sys.exit(1)
PY

step "fetch and validate /openapi.json"
python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
  "$base/openapi.json" >"$here/openapi.json"
timeout 120 "$py/.venv/bin/openapi-spec-validator" "$here/openapi.json"

step "generate and build the TypeScript client"
(cd "$ts" && rm -rf generated dist && timeout 120 npm run --silent generate && timeout 300 npm run --silent build)

step "generate the Python client"
rm -rf "$py/generated" && mkdir "$py/generated"
timeout 300 "$py/.venv/bin/openapi-python-client" generate --path "$here/openapi.json" \
  --output-path "$py/generated/checkout_gateway_client" --meta none --config "$py/generator.yml" 2>&1 |
  tee "$work/python-generate.log"
# The generator exits 0 even when it had to leave a schema or an operation out: that is a failure here.
if grep -qiE 'warning|unable to|error' "$work/python-generate.log"; then
  echo "openapi-python-client could not use all of the document (above)"
  exit 1
fi

step "run the TypeScript example"
(cd "$ts" && GATEWAY_URL="$base" timeout 60 npm run --silent example)

step "run the Python example"
GATEWAY_URL="$base" timeout 60 "$py/.venv/bin/python" "$py/example.py"

step "both generated clients ran their examples"
