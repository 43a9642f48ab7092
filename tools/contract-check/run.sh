#!/usr/bin/env bash
# Contract verification: every registered adapter against its provider's published API
# description (Stoplight Prism, pinned by package-lock.json), and our own API against its
# /openapi.json (schemathesis, pinned by requirements.txt). Installs the pinned tools into this
# folder (node_modules/, .venv/, both git-ignored), builds the gateway, runs the checks (each
# one even if another failed) and exits non-zero if any found a violation.
# Needs: node + npm, python3 (3.10+), cargo, and ../shared/providers beside the repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

# Prism's dependency @scarf/scarf sends install analytics unless told not to.
export SCARF_ANALYTICS=false

# Reinstall when a tool is missing or the pins changed since the last install (a stamp inside
# each folder).
if [ ! -x "$here/node_modules/.bin/prism" ] ||
   ! cmp -s "$here/package-lock.json" "$here/node_modules/.contract-check-stamp"; then
  echo "== contract-check: npm ci (Prism)"
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$here/node_modules/.contract-check-stamp"
fi
if [ ! -x "$here/.venv/bin/schemathesis" ] ||
   ! cmp -s "$here/requirements.txt" "$here/.venv/.contract-check-stamp"; then
  echo "== contract-check: pip install (schemathesis)"
  rm -rf "$here/.venv"
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$here/.venv/.contract-check-stamp"
fi

echo "== contract-check: cargo build"
cargo build --locked --bin checkout-gateway

status=0
echo "== contract-check: adapters against the published provider descriptions (Prism)"
"$here/.venv/bin/python" "$here/provider_check.py" || status=1
echo "== contract-check: contract-test (live-safe cases) against the published descriptions (Prism)"
"$here/.venv/bin/python" "$here/live_check.py" || status=1
echo "== contract-check: our API against /openapi.json (schemathesis)"
"$here/.venv/bin/python" "$here/api_check.py" || status=1
exit "$status"
