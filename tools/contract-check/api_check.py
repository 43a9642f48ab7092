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
import subprocess
import sys
import tempfile

from common import Child, call, free_port, gateway_env

REPO = pathlib.Path(__file__).resolve().parents[2]
TENANT = {"Authorization": "Bearer demo-tenant-key"}
SESSION = "/v1/checkout/sessions"
JSON = {**TENANT, "Content-Type": "application/json"}

# (operation, status, request) — requests that must reach a status fuzzing seldom produces.
# Operations are "METHOD /path-template"; requests are (method, path, headers, body).
PROBES = [
    ("PATCH /v1/checkout/sessions/{id}", 413, ("PATCH", f"{SESSION}/cs_demo_open", JSON, b"{" + b" " * 2_000_000 + b"}")),
    ("POST /v1/checkout/sessions/{id}/preview", 413,
     ("POST", f"{SESSION}/cs_demo_open/preview", JSON, b"{" + b" " * 2_000_000 + b"}")),
    ("PATCH /v1/checkout/sessions/{id}", 415, ("PATCH", f"{SESSION}/cs_demo_open", {**TENANT, "Content-Type": "text/plain"}, b"{}")),
    ("POST /v1/checkout/sessions/{id}", 415, ("POST", f"{SESSION}/cs_demo_open", {**TENANT, "Content-Type": "text/plain"}, b"{}")),
    ("POST /v1/checkout/sessions/{id}/preview", 415,
     ("POST", f"{SESSION}/cs_demo_open/preview", {**TENANT, "Content-Type": "text/plain"}, b"{}")),
    # Paypercut's demo session `chk_demo_complete` refuses updates with 409.
    ("PATCH /v1/checkout/sessions/{id}", 409, ("PATCH", f"{SESSION}/chk_demo_complete",
                                               {**JSON, "Checkout-Provider": "paypercut"}, b'{"shipping_rate":"shr_standard"}')),
    ("POST /v1/checkout/sessions/{id}", 409, ("POST", f"{SESSION}/chk_demo_complete",
                                              {**JSON, "Checkout-Provider": "paypercut"}, b'{"shipping_rate":"shr_standard"}')),
    # Mattilda session ids are UUIDs: the adapter's own id rule answers 400.
    ("GET /v1/checkout/sessions/{id}", 400, ("GET", f"{SESSION}/not-a-uuid", {**TENANT, "Checkout-Provider": "mattilda"}, None)),
    ("GET /v1/checkout/sessions/{id}", 404, ("GET", f"{SESSION}/cs_no_such_session", TENANT, None)),
    ("GET /v1/checkout/sessions/{id}", 403, ("GET", f"{SESSION}/cs_demo_open", {**TENANT, "Checkout-Provider": "nope"}, None)),
]

# (operation, status) -> why it cannot be reached against the embedded default, and where it is
# shown instead.
EXPLAINED = {
    **{(op, 429): "the demo tenant has no rate limit and the simulators never answer 429; "
                  "tests/api.rs and tests/end_to_end.rs cover rate_limited / provider_rate_limited"
       for op in ("GET /v1/checkout/sessions/{id}", "PATCH /v1/checkout/sessions/{id}", "POST /v1/checkout/sessions/{id}",
                  "POST /v1/checkout/sessions/{id}/preview", "GET /v1/providers")},
    **{(op, status): "the built-in simulators always answer, in time and with their protocol; provider "
                     "failures (502/503/504) are covered by tests/end_to_end.rs against failing mock providers"
       for op in ("GET /v1/checkout/sessions/{id}", "PATCH /v1/checkout/sessions/{id}", "POST /v1/checkout/sessions/{id}")
       for status in (502, 503, 504)},
    ("GET /readyz", 503): "the embedded default has no shared store that could be down",
}


def documented(document: dict) -> dict[str, set[int]]:
    statuses = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                statuses[f"{method.upper()} {path}"] = {int(s) for s in operation["responses"] if s.isdigit()}
    return statuses


def operation_of(method: str, path: str, operations) -> str | None:
    """The documented operation a concrete request path belongs to."""
    parts = path.split("?")[0].rstrip("/").split("/")
    for op in operations:
        op_method, template = op.split(" ", 1)
        tparts = template.split("/")
        if op_method == method and len(tparts) == len(parts) and all(
                t == p or (t.startswith("{") and p) for t, p in zip(tparts, parts)):
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default=str(REPO / "target" / "debug" / "checkout-gateway"))
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("CONTRACT_CHECK_MAX_EXAMPLES", "40")))
    parser.add_argument("--seed", default=os.environ.get("CONTRACT_CHECK_SEED", "20261123"))
    parser.add_argument("--time-limit", type=int, default=240, help="seconds before schemathesis is stopped")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="api-check-"))
    config, port = gateway_config(work)
    base = f"http://127.0.0.1:{port}"
    gateway = Child("gateway", [args.gateway, "serve", "--config", str(config)], str(work / "gateway.log"),
                    env=gateway_env())
    try:
        gateway.wait_http(f"{base}/healthz")
        _, _, document = call("GET", f"{base}/openapi.json", {})
        har = work / "schemathesis.har"
        command = [str(pathlib.Path(sys.executable).parent / "schemathesis"), "run", f"{base}/openapi.json",
                   "--header", f"Authorization:{TENANT['Authorization']}", "--checks", "all",
                   "--max-examples", str(args.max_examples), "--seed", str(args.seed), "--workers", "2",
                   "--request-timeout", "20", "--generation-database", "none", "--no-color",
                   "--report", "har", "--report-har-path", str(har)]
        print("$", " ".join(command), flush=True)
        try:
            fuzz = subprocess.run(command, cwd=work, timeout=args.time_limit).returncode
        except subprocess.TimeoutExpired:
            print(f"schemathesis did not finish within {args.time_limit}s")
            fuzz = 1
        operations = documented(document)
        seen = har_statuses(har, base, operations) if har.exists() else {}
        problems = []
        for op, status, (method, path, headers, body) in PROBES:
            got, _, answer = call(method, base + path, headers, body)
            if got != status:
                problems.append(f"probe {op} -> expected {status}, got {got}: {answer}")
            seen.setdefault(op, set()).add(got)
        print("\ndocumented statuses (seen = reached by schemathesis or a probe):")
        for op, statuses in sorted(operations.items()):
            for status in sorted(statuses):
                if status in seen.get(op, set()):
                    mark = "seen"
                elif (op, status) in EXPLAINED:
                    mark = f"explained: {EXPLAINED[(op, status)]}"
                else:
                    mark = "NEVER REACHED and not explained"
                    problems.append(f"{op} {status}: never reached and not explained")
                print(f"  {op:<45} {status}  {mark}")
            undocumented = seen.get(op, set()) - statuses
            if undocumented:
                print(f"  {op:<45} also answered undocumented {sorted(undocumented)} (schemathesis checks these)")
        for problem in problems:
            print(f"FAIL {problem}")
        if fuzz or problems:
            print(f"API check FAILED (schemathesis exit {fuzz}, {len(problems)} status problems); logs in {work}")
            return 1
        print("API check passed")
        return 0
    finally:
        gateway.stop()


if __name__ == "__main__":
    sys.exit(main())
