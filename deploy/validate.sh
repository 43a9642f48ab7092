#!/usr/bin/env bash
# Validate the deployment files offline:
#   - YAML style and syntax (yamllint);
#   - Kubernetes manifests against the API schemas of the version below, strictly, so unknown
#     or misspelt fields fail (kubernetes-validate ships the schemas);
#   - docker-compose.yml against the Compose specification (check-jsonschema's vendored schema);
#   - the Dockerfile (hadolint);
#   - the gateway TOML in the ConfigMaps (configmap.yaml, the Redis Cluster example) and the
#     compose config, with `checkout-gateway check-config` and placeholder secrets, so they stay
#     valid as the config format changes;
#   - the Prometheus alert rules (deploy/observability/alerts.yml) with `promtool check rules`
#     and their unit tests with `promtool test rules` (Debian's prometheus package; skipped when
#     promtool is absent, unless CHECKOUT_GATEWAY_REQUIRE_PROMTOOL=1, which .ci/run sets).
# The tools are installed into target/deploy-venv from deploy/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VERSION="${KUBERNETES_VERSION:-1.37.0}"
venv="target/deploy-venv"
if [ ! -x "$venv/bin/kubernetes-validate" ] || ! cmp -s deploy/requirements.txt "$venv/requirements.txt"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r deploy/requirements.txt
    cp deploy/requirements.txt "$venv/requirements.txt"
fi

manifests=(deploy/kubernetes/*.yaml)
resources=()
for file in "${manifests[@]}"; do
    # kustomization.yaml is kustomize's own format, not an API resource.
    [ "$(basename "$file")" = kustomization.yaml ] || resources+=("$file")
done

echo "-- yamllint"
"$venv/bin/yamllint" --strict -c deploy/yamllint.yaml "${manifests[@]}" docker-compose.yml deploy/observability/*.yml

echo "-- kubernetes-validate (Kubernetes $KUBERNETES_VERSION, strict)"
"$venv/bin/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" "${resources[@]}"
echo "ok: ${#resources[@]} manifest files"

echo "-- compose specification"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml

echo "-- hadolint"
"$venv/bin/hadolint" Dockerfile

echo "-- gateway configs (check-config, placeholder secrets)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
demo_key="providers/mattilda/demo/demo-private-key.pem"
# The ConfigMap's gateway.toml: the indented block scalar under `gateway.toml: |`.
awk '/^  gateway.toml: \|/ { inside = 1; next } inside && /^    / { print substr($0, 5); next } inside && /^$/ { print; next } inside { exit }' \
    deploy/kubernetes/configmap.yaml > "$work/kubernetes.toml"
# The cluster-mode example: its CA file is read at start-up, so point it at a placeholder PEM.
awk '/^  gateway.toml: \|/ { inside = 1; next } inside && /^    / { print substr($0, 5); next } inside && /^$/ { print; next } inside { exit }' \
    deploy/kubernetes/configmap-redis-cluster.example.yaml | sed "s#/etc/redis-ca/ca.crt#$work/redis-ca.pem#" > "$work/kubernetes-cluster.toml"
printf -- '-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n' > "$work/redis-ca.pem"
sed "s#/run/secrets/mattilda-demo.pem#$PWD/$demo_key#" deploy/compose/gateway.toml > "$work/compose.toml"
check_config() {
    # CHECKOUT_GATEWAY_DEMO: the compose file serves the demo tenant on 0.0.0.0 on purpose.
    env CHECKOUT_GATEWAY_DEMO="${3:-}" STRIPE_SECRET_KEY=sk_test_placeholder PAYPERCUT_SECRET_KEY=sk_test_placeholder \
        SPEED_SECRET_KEY=sk_test_placeholder MATTILDA_PRIVATE_KEY="$(cat "$demo_key")" \
        REDIS_USERNAME=placeholder REDIS_PASSWORD=placeholder \
        cargo run --quiet --locked --bin checkout-gateway -- check-config --config "$1" > "$work/out.txt" \
        || { cat "$work/out.txt"; echo "invalid: $2"; exit 1; }
    echo "ok: $2"
}
check_config "$work/kubernetes.toml" "deploy/kubernetes/configmap.yaml (gateway.toml)"
check_config "$work/kubernetes-cluster.toml" "deploy/kubernetes/configmap-redis-cluster.example.yaml (gateway.toml)"
check_config "$work/compose.toml" "deploy/compose/gateway.toml" 1

echo "-- alert rules (promtool)"
if command -v promtool >/dev/null 2>&1; then
    promtool check rules deploy/observability/alerts.yml
    promtool test rules deploy/observability/alerts.test.yml
elif [ "${CHECKOUT_GATEWAY_REQUIRE_PROMTOOL:-}" = 1 ]; then
    echo "promtool is missing (apt-get install prometheus)"; exit 1
else
    echo "skipped: promtool not installed (apt-get install prometheus); CI always runs it"
fi
echo "deploy: all checks passed"
