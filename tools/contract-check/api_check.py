"""Property-based check of our own API against its /openapi.json, with schemathesis.

Starts the gateway on the embedded default (config/gateway.toml: built-in simulators, demo
tenant), on free loopback ports, and runs `schemathesis run` against its /openapi.json with every
check (no 5xx, responses and headers conform to the document, bad input rejected, ...), bounded by
an example count per operation and a wall-clock limit. Then every documented status of every
operation must have been seen, either during the fuzzing (read from schemathesis' HAR report) or
from one of the targeted PROBES below, or be EXPLAINED (why it cannot happen against the embedded
default, and which test shows it instead).
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

import jsonschema_rs

from common import Child, call, free_port, gateway_env, stop_children_on_sigterm

REPO = pathlib.Path(__file__).resolve().parents[2]
TENANT = {"Authorization": "Bearer demo-tenant-key"}
SESSION = "/v1/checkout/sessions"
JSON = {**TENANT, "Content-Type": "application/json"}

# (operation, status, request): statuses the fuzzer seldom or never produces (huge bodies, wrong
# media types, demo sessions in a given state) are reached on purpose, so the reachability check
# does not depend on luck. Operations are "METHOD /path-template"; requests are
# (method, path, headers, body).
BIG = b"{" + b" " * 1_100_000 + b"}"  # over the default 1 MiB body limit
PLAIN = {**TENANT, "Content-Type": "text/plain"}
PAYPERCUT = {**JSON, "Checkout-Provider": "paypercut"}
RATE = b'{"shipping_rate":"shr_standard"}'
NOPE = {**TENANT, "Checkout-Provider": "not-allowed"}  # a provider the demo tenant may not use
PROBES = [
    ("GET /openapi.json", 200, ("GET", "/openapi.json", {}, None)),
    # The path parameter is an enum of the codes: generated values are all known codes.
    ("GET /problems/{code}", 200, ("GET", "/problems/unsupported_field", {}, None)),
    ("GET /problems/{code}", 404, ("GET", "/problems/no_such_code", {}, None)),
    ("GET /v1/providers", 200, ("GET", "/v1/providers", TENANT, None)),
    ("GET /v1/providers/compatibility", 200, ("GET", "/v1/providers/compatibility?to=paypercut", TENANT, None)),
    ("PATCH /v1/checkout/sessions/{id}", 200, ("PATCH", f"{SESSION}/chk_demo_open", PAYPERCUT, RATE)),
    ("POST /v1/checkout/sessions/{id}", 200, ("POST", f"{SESSION}/chk_demo_open", PAYPERCUT, RATE)),
    ("GET /v1/checkout/sessions/{id}", 403, ("GET", f"{SESSION}/cs_demo_open", NOPE, None)),
    ("PATCH /v1/checkout/sessions/{id}", 403, ("PATCH", f"{SESSION}/cs_demo_open", {**JSON, **NOPE}, RATE)),
    ("POST /v1/checkout/sessions/{id}", 403, ("POST", f"{SESSION}/cs_demo_open", {**JSON, **NOPE}, RATE)),
    ("GET /v1/checkout/sessions/{id}", 404, ("GET", f"{SESSION}/cs_no_such_session", TENANT, None)),
    ("GET /v1/checkout/sessions/{id}", 422, ("GET", f"{SESSION}/cs_demo_open?include=everything", TENANT, None)),
    # Mattilda session ids are UUIDs: the adapter's own id rule answers 400.
    ("GET /v1/checkout/sessions/{id}", 400, ("GET", f"{SESSION}/not-a-uuid", {**TENANT, "Checkout-Provider": "mattilda"}, None)),
    ("PATCH /v1/checkout/sessions/{id}", 401, ("PATCH", f"{SESSION}/chk_demo_open", {"Content-Type": "application/json"}, RATE)),
    ("POST /v1/checkout/sessions/{id}", 401, ("POST", f"{SESSION}/chk_demo_open", {"Content-Type": "application/json"}, RATE)),
    ("PATCH /v1/checkout/sessions/{id}", 404, ("PATCH", f"{SESSION}/chk_no_such_session", PAYPERCUT, RATE)),
    ("POST /v1/checkout/sessions/{id}", 404, ("POST", f"{SESSION}/chk_no_such_session", PAYPERCUT, RATE)),
    # Paypercut's demo session `chk_demo_complete` refuses updates with 409.
    ("PATCH /v1/checkout/sessions/{id}", 409, ("PATCH", f"{SESSION}/chk_demo_complete", PAYPERCUT, RATE)),
    ("POST /v1/checkout/sessions/{id}", 409, ("POST", f"{SESSION}/chk_demo_complete", PAYPERCUT, RATE)),
    ("PATCH /v1/checkout/sessions/{id}", 413, ("PATCH", f"{SESSION}/cs_demo_open", JSON, BIG)),
    ("POST /v1/checkout/sessions/{id}", 413, ("POST", f"{SESSION}/cs_demo_open", JSON, BIG)),
    ("PATCH /v1/checkout/sessions/{id}", 415, ("PATCH", f"{SESSION}/cs_demo_open", PLAIN, b"{}")),
    ("POST /v1/checkout/sessions/{id}", 415, ("POST", f"{SESSION}/cs_demo_open", PLAIN, b"{}")),
    ("POST /v1/checkout/sessions/{id}/preview", 200, ("POST", f"{SESSION}/chk_demo_open/preview", PAYPERCUT, RATE)),
    ("POST /v1/checkout/sessions/{id}/preview", 400, ("POST", f"{SESSION}/chk_demo_open/preview", JSON, b"[1]")),
    ("POST /v1/checkout/sessions/{id}/preview", 401, ("POST", f"{SESSION}/chk_demo_open/preview", {}, RATE)),
    ("POST /v1/checkout/sessions/{id}/preview", 403, ("POST", f"{SESSION}/chk_demo_open/preview", {**JSON, **NOPE}, RATE)),
    ("POST /v1/checkout/sessions/{id}/preview", 413, ("POST", f"{SESSION}/cs_demo_open/preview", JSON, BIG)),
    ("POST /v1/checkout/sessions/{id}/preview", 415, ("POST", f"{SESSION}/cs_demo_open/preview", PLAIN, b"{}")),
]

# (operation, status) -> why the embedded default cannot produce it, and the test that does.
SESSION_OPS = ("GET /v1/checkout/sessions/{id}", "PATCH /v1/checkout/sessions/{id}", "POST /v1/checkout/sessions/{id}")
PASSTHROUGH_OPS = tuple(f"{m} /v1/passthrough/{{provider}}/{{path}}" for m in ("GET", "POST", "PUT", "PATCH", "DELETE"))
RATE_LIMITED = ("the demo tenant has no rate limit and the simulators never answer 429; shown by tests/api.rs "
                "the_tenant_rate_limit_answers_429_with_retry_after and tests/end_to_end.rs "
                "provider_rate_limit_is_retried_then_passed_on_with_retry_after")
PROVIDER_FAILURE = ("the built-in simulators always answer in time and in their protocol; shown by tests/faults.rs "
                    "(persistent_server_errors..., refused_connections_end_as_provider_unavailable, "
                    "a_silent_provider_times_out_within_the_deadline) and tests/end_to_end.rs")
NO_PASSTHROUGH = ("config/gateway.toml allows no passthrough path, so every call ends at 403 passthrough_not_allowed "
                  "before the body limit or any provider call; shown by tests/passthrough.rs "
                  "(bodies_stream_through_within_the_limit_and_413_beyond_it, oversized_provider_answers..., "
                  "an_open_circuit_fails_fast_without_calling_the_provider)")
EXPLAINED = {
    **{(op, status): PROVIDER_FAILURE for op in SESSION_OPS for status in (502, 503, 504)},
    **{(op, status): NO_PASSTHROUGH for op in PASSTHROUGH_OPS for status in (413, 502, 503, 504)},
    ("GET /readyz", 503): "the embedded default has no shared store that could be down; shown by tests/idempotency.rs "
                          "an_unreachable_redis_makes_the_gateway_not_ready_and_refuses_keyed_updates",
    ("GET /v1/providers/compatibility", 503): "the usage counts come from the store, and the embedded default's memory "
                                              "store cannot be unavailable (Redis down: 503 store_unavailable, as "
                                              "tests/idempotency.rs shows for keyed updates; no test covers this route)",
}


def explanation(op: str, status: int) -> str | None:
    """Why `op` cannot answer `status` against the embedded default (429: for every operation)."""
    return EXPLAINED.get((op, status)) or (RATE_LIMITED if status == 429 else None)


def response_problems(document: dict, op: str, status: int, body) -> list[str]:
    """Where `body` does not match what the document promises for `op` answering `status`."""
    method, path = op.split(" ", 1)
    response = document["paths"][path][method.lower()]["responses"].get(str(status))
    if response is None:
        return [f"status {status} is not documented"]
    tokens = ["paths", path, method.lower(), "responses", str(status)]
    if "$ref" in response:
        tokens = response["$ref"].removeprefix("#/").split("/")
        response = document["components"]["responses"][tokens[-1]]
    for media_type in response.get("content", {}):
        pointer = "#/" + "/".join(urllib.parse.quote(t.replace("~", "~0").replace("/", "~1"), safe="~")
                                  for t in [*tokens, "content", media_type, "schema"])
        validator = jsonschema_rs.Draft202012Validator({**document, "$ref": pointer})
        return [f"/{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)]
    return []


def documented(document: dict) -> dict[str, set[int]]:
    statuses = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                statuses[f"{method.upper()} {path}"] = {int(s) for s in operation["responses"] if s.isdigit()}
    return statuses


def operation_of(method: str, path: str, operations) -> str | None:
    """The documented operation a concrete request path belongs to (`{path}` spans segments)."""
    path = path.split("?")[0]
    for op in sorted(operations, key=lambda op: "{path}" in op):
        op_method, template = op.split(" ", 1)
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template).replace(r"\{path\}", "(.+)"))
        if op_method == method and re.fullmatch(pattern, path):
            return op
    return None


def har_statuses(har_path: pathlib.Path, base: str, operations) -> dict[str, set[int]]:
    seen: dict[str, set[int]] = {}
    for entry in json.loads(har_path.read_text())["log"]["entries"]:
        url = entry["request"]["url"].removeprefix(base)
        op = operation_of(entry["request"]["method"], url, operations)
        if op and entry["response"]["status"]:
            seen.setdefault(op, set()).add(entry["response"]["status"])
    return seen


def gateway_config(work: pathlib.Path) -> tuple[pathlib.Path, int]:
    """The embedded default with its fixed ports moved to free ones."""
    text = (REPO / "config" / "gateway.toml").read_text()
    port, simulators = free_port(), free_port()
    for old, new in (("127.0.0.1:8080", port), ("127.0.0.1:8081", simulators)):
        if old not in text:
            raise SystemExit(f"config/gateway.toml no longer uses {old}: update {__file__}")
        text = text.replace(old, f"127.0.0.1:{new}")
    path = work / "gateway.toml"
    path.write_text(text)
    return path, port


# One schemathesis run per provider of the embedded default, the Checkout-Provider header fixed
# (a generated one would be answered 403 before the body is even read). The default provider gets
# every phase; the others the bounded fuzzing phase only, to keep the run short.
RUNS = [("stripe", "examples,coverage,fuzzing,stateful"), ("mattilda", "fuzzing"), ("paypercut", "fuzzing"),
        ("speed", "fuzzing")]


def schemathesis(base: str, provider: str, phases: str, har: pathlib.Path, args, deadline: float) -> int:
    command = [str(pathlib.Path(sys.executable).parent / "schemathesis"),
               "--config-file", str(pathlib.Path(__file__).with_name("schemathesis.toml")), "--no-color",
               "run", f"{base}/openapi.json", "--phases", phases,
               "--header", f"Authorization:{TENANT['Authorization']}", "--header", f"Checkout-Provider:{provider}",
               "--checks", "all", "--max-examples", str(args.max_examples), "--seed", str(args.seed),
               "--workers", "1",  # CPython 3.11's ast module is not thread-safe (hypothesis parses lambdas)
               "--request-timeout", "20", "--generation-database", "none", "--report", "har",
               "--report-har-path", str(har)]
    print(f"\n== schemathesis, Checkout-Provider: {provider}\n$", " ".join(command), flush=True)
    try:
        return subprocess.run(command, cwd=har.parent, timeout=max(1, deadline - time.monotonic())).returncode
    except subprocess.TimeoutExpired:
        print(f"schemathesis did not finish within the {args.time_limit}s budget")
        return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default=str(REPO / "target" / "debug" / "checkout-gateway"))
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("CONTRACT_CHECK_MAX_EXAMPLES", "40")))
    parser.add_argument("--seed", default=os.environ.get("CONTRACT_CHECK_SEED", "20261123"))
    parser.add_argument("--time-limit", type=int, default=240, help="seconds for all schemathesis runs together")
    args = parser.parse_args()
    stop_children_on_sigterm()
    work = pathlib.Path(tempfile.mkdtemp(prefix="api-check-"))
    config, port = gateway_config(work)
    base = f"http://127.0.0.1:{port}"
    # Schemathesis sends many requests without a valid key from one address, and checks that each
    # answers 401; the per-address limit on failed authentication (tests/limits.rs holds it)
    # would answer 429 after ten of them, so it is off for this run.
    gateway = Child("gateway", [args.gateway, "serve", "--config", str(config)], str(work / "gateway.log"),
                    env={**gateway_env(), "CHECKOUT_GATEWAY__SERVER__AUTH_FAILURE_LIMIT": "0"})
    try:
        gateway.wait_http(f"{base}/healthz")
        _, _, document = call("GET", f"{base}/openapi.json", {})
        operations = documented(document)
        deadline = time.monotonic() + args.time_limit
        failed_runs, seen = [], {}
        for provider, phases in RUNS:
            har = work / f"schemathesis-{provider}.har"
            if schemathesis(base, provider, phases, har, args, deadline):
                failed_runs.append(provider)
            for op, statuses in (har_statuses(har, base, operations) if har.exists() else {}).items():
                seen.setdefault(op, set()).update(statuses)
        problems = [f"schemathesis found failures with Checkout-Provider: {p} (report above)" for p in failed_runs]
        for op, status, (method, path, headers, body) in PROBES:
            got, _, answer = call(method, base + path, headers, body)
            if got != status:
                problems.append(f"probe {op} -> expected {status}, got {got}: {answer}")
            else:
                problems += [f"probe {op} {status}: body does not match the document at {p}"
                             for p in response_problems(document, op, status, answer)]
            seen.setdefault(op, set()).add(got)
        print("\ndocumented statuses (seen = reached by schemathesis or a probe):")
        for op, statuses in sorted(operations.items()):
            for status in sorted(statuses):
                if status in seen.get(op, set()):
                    mark = "seen"
                elif explanation(op, status):
                    mark = f"explained: {explanation(op, status)}"
                else:
                    mark = "NEVER REACHED and not explained"
                    problems.append(f"{op} {status}: never reached and not explained")
                print(f"  {op:<45} {status}  {mark}")
        for problem in problems:
            print(f"FAIL {problem}")
        if problems:
            print(f"API check FAILED ({len(problems)} problems); gateway log and HAR reports in {work}")
            return 1
        print("API check passed")
        return 0
    finally:
        gateway.stop()

if __name__ == "__main__":
    sys.exit(main())
