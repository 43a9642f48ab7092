"""Check every registered adapter, and its contract fixtures, against the provider's published
API description.

For each provider kind in src/registry.rs, Stoplight Prism serves
`../shared/providers/<kind>/openapi.json` in mock mode (requests are always validated; `--errors`
also makes Prism check the responses it generates). Then:

1. Fixtures: every recorded provider request of every contract case is sent to Prism as it is,
   and every recorded JSON answer is validated against the description's schema for its status.
   Anything outside the description fails, unless listed in DELIBERATE_DEVIATIONS.
2. Adapters: one gateway provider per contract case (the case's own adapter settings, `base_url`
   pointed at a recording proxy in front of Prism). Every case whose call succeeds
   (`expected_session`) is sent through the real gateway binary, one case at a time, once per
   named 200 example of the operation. It passes when Prism reported no violation on any request
   the gateway made for it (the `sl-violations` header, captured by the proxy while only that
   case runs, so attribution does not depend on Prism's log format) and the gateway answered 200
   with a body valid against the `UnifiedSession` schema of its own /openapi.json.

Providers whose adapter declares an OAuth 2.0 token source (PayPal): their token endpoint is not
in the description (it is PayPal's identity API), so the recording proxy stands in for it as the
provider would, after checking the client-credentials request (HTTP Basic, a form with
`grant_type=client_credentials`); the gateway's token source then sends its bearer token on every
call, and Prism checks the description's security requirement. Recorded fixture requests carry
no `Authorization` for such providers (the core adds it), so step 1 adds the stand-in token.

Read-then-write cases (`current_state`): the read still goes to Prism and is validated, but the
gateway gets the case's recorded state (itself checked in step 1), so the write is the one the
case is about (Prism's example state may make the adapter refuse, e.g. Stripe partial shipping
details with nothing to merge into).
"""

import argparse
import datetime
import http.client
import json
import os
import pathlib
import re
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema_rs

from common import Child, call, free_port, gateway_env, sha256_hex, stop_children_on_sigterm, toml_table

REPO = pathlib.Path(__file__).resolve().parents[2]
TENANT_KEY = "contract-check-tenant-key"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}

# Where a published description is wrong or incomplete, the fix belongs in ../shared (data,
# read-only here). Until then, each deviation is patched into the copy Prism serves by a named
# function with a docstring giving the evidence, registered here by kind, so the rest of the
# document still checks the adapter.
def stripe_line_items_list(document: dict) -> None:
    """The fragment has only POST/GET /v1/checkout/sessions/{session}; the adapter also reads the
    rest of a session's items from `GET /v1/checkout/sessions/{session}/line_items` (Stripe API
    reference, "Retrieve a Checkout Session's line items": query `limit` 1-100, default 10,
    `starting_after`, `ending_before`, `expand`; answers a list object `{object: "list", data:
    [item], has_more, url}` of the same `LineItem` the fragment defines)."""
    session_get = document["paths"]["/v1/checkout/sessions/{session}"]["get"]
    responses = {key: value for key, value in session_get["responses"].items() if key != "200"}
    item_list = {
        "type": "object",
        "required": ["object", "data", "has_more", "url"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/LineItem"}},
            "has_more": {"type": "boolean"},
            "url": {"type": "string"},
        },
    }
    cursor = {"type": "string", "maxLength": 5000}
    document["paths"]["/v1/checkout/sessions/{session}/line_items"] = {
        "parameters": [{"$ref": "#/components/parameters/Session"}],
        "get": {
            "operationId": "ListCheckoutSessionLineItems",
            "parameters": [
                {"$ref": "#/components/parameters/StripeVersion"},
                {"$ref": "#/components/parameters/Expand"},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "starting_after", "in": "query", "required": False, "schema": cursor},
                {"name": "ending_before", "in": "query", "required": False, "schema": cursor},
            ],
            "responses": {"200": {"description": "A page of the session's line items.",
                                  "content": {"application/json": {"schema": item_list}}}, **responses},
        },
    }


DESCRIPTION_PATCHES: dict[str, list] = {"stripe": [stripe_line_items_list]}


# Contract cases whose recorded provider exchange leaves the published description on purpose, to
# show that the adapter copes with more than the provider documents. Any other recorded request
# Prism rejects, or recorded JSON answer the description does not allow, fails the check: then the
# fixture or the description is wrong, and the provider's sources decide which.
DELIBERATE_DEVIATIONS = {
    "paypercut/09-closed-session-nested-error": "error object under `error` (Paypercut's PrestaShop plugin reads "
                                                "it there too); the docs and the description have it top-level",
    "paypercut/14-authentication-failed": "same nested error form as 09",
    "paypercut/24-retrieve-unexpanded-shipping-rates": "`shipping_options[].shipping_rate` as bare ids (a GET "
                                                          "without `expand`); the description shows expanded rates",
    "crypto-invoice/08-retrieve-absent-amount": "a session without `amount` (required by the description, which "
                                                "infers it from the docs' examples): null amounts plus a warning",
    "crypto-invoice/28-error-single-object-tolerated": "`errors` as one object, not the documented array: tolerated",
}


# Kinds whose adapter declares a token source (`Adapter::token_source`), with the token endpoint's
# path on the provider's base URL. The descriptions leave the endpoint out (it is the provider's
# identity API), so the recording proxy answers it as the provider does.
TOKEN_ENDPOINTS = {"paypal": "/v1/oauth2/token"}
STAND_IN_TOKEN = "contract-check-bearer-token"


class Recorder(ThreadingHTTPServer):
    """A pass-through proxy to one Prism that records each exchange and its violations."""

    daemon_threads = True

    def __init__(self, upstream_port: int, token_path: str | None = None):
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream_port = upstream_port
        self.token_path = token_path  # answered here (TOKEN_ENDPOINTS), never forwarded
        self.prefer: str | None = None  # a `Prefer` header to add (selects a named example)
        self.read_answer: dict | None = None  # a case's `current_state`: the answer to give its read
        self.exchanges: list[dict] = []
        self.lock = threading.Lock()

    def take(self) -> list[dict]:
        with self.lock:
            taken, self.exchanges = self.exchanges, []
        return taken


class _Forward(BaseHTTPRequestHandler):
    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if self.command == "POST" and self.server.token_path == urllib.parse.urlsplit(self.path).path:
            self._token(headers, body)
            return
        if self.server.prefer:
            headers["Prefer"] = self.server.prefer
        exchange = {"method": self.command, "path": self.path, "headers": headers,
                    "body": body.decode(errors="replace"), "status": 502, "violations": []}
        with self.server.lock:
            self.server.exchanges.append(exchange)
        try:
            upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=30)
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            upstream.close()
        except OSError as error:
            exchange["violations"] = [{"location": ["proxy"], "code": "unreachable", "message": str(error)}]
            self.send_error(502, "Prism unreachable")
            return
        exchange["status"] = response.status
        exchange["violations"] = json.loads(response.getheader("sl-violations") or "[]")
        status, reply_headers = response.status, response.getheaders()
        read = self.server.read_answer
        if self.command == "GET" and read is not None and read["expected_request"]["path"] == self.path:
            answer = read["response"]
            status, data = answer["status"], json.dumps(answer["body"]).encode()
            reply_headers = [("Content-Type", "application/json"), *answer.get("headers", {}).items()]
        self.send_response(status)
        for name, value in reply_headers:
            if name.lower() not in HOP_BY_HOP | {"content-length"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _token(self, headers: dict, body: bytes):
        """The provider's token endpoint, as the client-credentials grant (RFC 6749 section 4.4)
        has it: a request without Basic credentials or the grant is recorded as a violation."""
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        form = urllib.parse.parse_qs(body.decode(errors="replace"))
        problems = []
        if not authorization.lower().startswith("basic "):
            problems.append("the token request carries no HTTP Basic client credentials")
        if form.get("grant_type") != ["client_credentials"]:
            problems.append("the token request's form has no grant_type=client_credentials")
        if problems:
            with self.server.lock:
                self.server.exchanges.append({
                    "method": self.command, "path": self.path, "headers": {}, "body": "", "status": 400,
                    "violations": [{"location": ["token"], "code": "token-request", "message": p} for p in problems]})
            answer, status = {"error": "invalid_request"}, 400
        else:
            answer, status = {"access_token": STAND_IN_TOKEN, "token_type": "Bearer", "expires_in": 32400}, 200
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, *args):
        pass


class Description:
    """One provider's published OpenAPI document (possibly with named patches applied)."""

    def __init__(self, kind: str, shared: pathlib.Path, work: pathlib.Path):
        source = shared / kind / "openapi.json"
        if not source.is_file():
            raise SystemExit(f"{kind}: no published description at {source}")
        self.document = json.loads(source.read_text())
        self.path = source
        for patch in DESCRIPTION_PATCHES.get(kind, []):
            print(f"{kind}: description exception `{patch.__name__}`: {' '.join(patch.__doc__.split())}")
            patch(self.document)
            self.path = work / f"{kind}.openapi.json"
        if self.path != source:
            self.path.write_text(json.dumps(self.document))

    def operation(self, method: str, path: str) -> tuple[list[str], dict]:
        """The JSON pointer tokens and object of the operation serving `method path`."""
        path = urllib.parse.urlsplit(path).path
        for template, item in self.document["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path) and method.lower() in item:
                return ["paths", template, method.lower()], item[method.lower()]
        raise LookupError(f"the description has no operation for {method} {path}")

    def response(self, method: str, path: str, status: int) -> tuple[list[str], dict] | None:
        """Pointer tokens and object of the JSON content documented for `status` (or `default`)."""
        tokens, operation = self.operation(method, path)
        key = str(status) if str(status) in operation["responses"] else "default"
        response = operation["responses"].get(key)
        if response is None:
            return None
        tokens = [*tokens, "responses", key]
        if "$ref" in response:
            tokens = response["$ref"].removeprefix("#/").split("/")
            response = self.document["components"]["responses"][tokens[-1]]
        content = response.get("content", {}).get("application/json")
        return (None if content is None else ([*tokens, "content", "application/json"], content))

    def example_names(self, method: str, path: str) -> list[str | None]:
        """None (Prism's default choice) plus every further named 200 example."""
        _, content = self.response(method, path, 200)
        return [None, *list(content.get("examples", {}))[1:]]

    def response_problems(self, method: str, path: str, status: int, body) -> list[str]:
        """Where `body` differs from the JSON documented for `method path` answering `status`."""
        found = self.response(method, path, status)
        if found is None:
            return [] if body is None else [f"no JSON body is documented for {status}"]
        pointer = "#/" + "/".join(urllib.parse.quote(t.replace("~", "~0").replace("/", "~1"), safe="~")
                                  for t in [*found[0], "schema"])
        validator = jsonschema_rs.Draft202012Validator({**self.document, "$ref": pointer})
        return [f"/{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)]


def registered_kinds() -> list[str]:
    """The kinds src/registry.rs lists (crate `checkout_provider_<kind>`, `_` for `-`)."""
    text = (REPO / "src" / "registry.rs").read_text()
    return [m.replace("_", "-") for m in re.findall(r"checkout_provider_([a-z0-9_]+)::FACTORY", text)]


def succeeding_cases(kind: str) -> list[tuple[str, dict]]:
    cases = []
    for path in sorted((REPO / "providers" / kind / "contracts").glob("*.json")):
        case = json.loads(path.read_text())
        if "expected_session" in case:
            cases.append((path.stem, case))
    return cases


def prism_violations(port: int, request: dict, kind: str) -> list[str]:
    """Send one recorded request to Prism as it is (plus the bearer token the core adds for a
    kind with a token source); its violations, as text."""
    body = request.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    headers = dict(request["headers"])
    if kind in TOKEN_ENDPOINTS and not any(k.lower() == "authorization" for k in headers):
        headers["Authorization"] = f"Bearer {STAND_IN_TOKEN}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(request["method"], request["path"], body=body.encode() if body else None,
                       headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return [f"recorded {request['method']} request: {'.'.join(map(str, v.get('location', [])))} [{v.get('code')}] "
            f"{v.get('message')}" for v in json.loads(response.getheader("sl-violations") or "[]")]


def check_fixtures(kind: str, description: Description, prism_port: int) -> int:
    """Every recorded exchange of every case of `kind` against the description: requests through
    Prism, JSON answers with a JSON Schema validator. Returns the number of failing cases."""
    failed = checked = 0
    for path in sorted((REPO / "providers" / kind / "contracts").glob("*.json")):
        case = json.loads(path.read_text())
        exchanges = [(x["expected_request"], x["response"]) for x in [case.get("current_state")] if x]
        if "expected_provider_request" in case:
            exchanges.append((case["expected_provider_request"], case.get("provider_response")))
        exchanges += [(x["expected_request"], x["response"]) for x in [case.get("follow_up")] if x]
        problems = []
        for request, response in exchanges:
            checked += 1
            problems += prism_violations(prism_port, request, kind)
            if response and response.get("body") is not None:
                problems += [f"recorded {response['status']} answer at {p}" for p in description.response_problems(
                    request["method"], request["path"], response["status"], response["body"])]
        reason = DELIBERATE_DEVIATIONS.get(f"{kind}/{path.stem}")
        if problems and reason:
            print(f"note {kind:<15} {path.stem}: outside the description on purpose ({reason})")
        elif problems or reason:
            failed += 1
            print(f"FAIL {kind:<15} {path.stem}: " + ("recorded exchange outside the published description"
                                                    if problems else "listed as a deliberate deviation but conforms"))
            for problem in problems:
                print(f"       {problem}")
    print(f"{kind}: {checked} recorded exchanges of {kind}'s contract cases checked, {failed} cases failed")
    return failed


def gateway_config(port: int, providers: dict[str, tuple[str, str, dict]]) -> str:
    text = toml_table("server", {"listen": f"127.0.0.1:{port}"})
    for name, (kind, base_url, settings) in providers.items():
        # One attempt: a violation is reported once, and no retry hides a failure.
        entries = {"kind": kind, "base_url": base_url, "allow_insecure_http": True, "retry": {"max_attempts": 1}}
        text += toml_table(f'providers."{name}"', {**entries, **settings})
    names = list(providers)
    text += toml_table("tenants.contract", {"api_key_sha256": sha256_hex(TENANT_KEY), "provider": names[0],
                                            "allowed_providers": names})
    return text


def session_validator(gateway: str):
    status, _, document = call("GET", f"{gateway}/openapi.json", {})
    if status != 200:
        raise SystemExit(f"gateway /openapi.json answered {status}")
    schema = {"$ref": "#/components/schemas/UnifiedSession", "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def moved_to_now(value, offset: datetime.timedelta):
    """`value` with every RFC 3339 time moved by `offset`. A case's clock (`context.now`) is fixed
    while the gateway runs on the real one: a recorded state is replayed as it stands relative to
    the case's clock (a session with 45 minutes left still has 45 minutes left)."""
    if isinstance(value, dict):
        return {k: moved_to_now(v, offset) for k, v in value.items()}
    if isinstance(value, list):
        return [moved_to_now(v, offset) for v in value]
    if isinstance(value, str) and ISO_TIME.match(value):
        moved = datetime.datetime.fromisoformat(value.replace("Z", "+00:00")) + offset
        return moved.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    return value


def replayed_state(case: dict) -> dict | None:
    """The case's `current_state` with its times moved from the case's clock to the real one."""
    state = case.get("current_state")
    if state is None:
        return None
    case_now = datetime.datetime.fromisoformat(case["context"].get("now", "2026-11-23T12:00:00Z").replace("Z", "+00:00"))
    offset = datetime.datetime.now(datetime.timezone.utc) - case_now
    return {**state, "response": moved_to_now(state["response"], offset)}


def run_one(gateway, validator, recorder, provider, case, prefer) -> list[str]:
    """Send one case through the gateway; the list of problems (empty = pass)."""
    problems = []
    state = replayed_state(case)  # its recorded answer was checked against the description in step 1
    session = urllib.parse.quote(case["context"]["session_id"], safe="")
    headers = {"Authorization": f"Bearer {TENANT_KEY}", "Checkout-Provider": provider}
    body = None
    if case["operation"] == "update":
        headers["Content-Type"] = "application/json"
        body = json.dumps(case["unified_request"]).encode()
    recorder.take()
    recorder.prefer, recorder.read_answer = prefer, state
    try:
        status, _, answer = call("PATCH" if body else "GET", f"{gateway}/v1/checkout/sessions/{session}", headers, body)
    finally:
        recorder.prefer = recorder.read_answer = None
    exchanges = recorder.take()
    if not exchanges:
        problems.append("no request reached Prism")
    for exchange in exchanges:
        for v in exchange["violations"]:
            where = ".".join(str(part) for part in v.get("location", []))
            problems.append(f"Prism {v.get('severity', 'Error')}: {exchange['method']} {exchange['path']} -> "
                            f"{exchange['status']}: {where} [{v.get('code')}] {v.get('message')}")
        if exchange["violations"]:
            sent = {k: v for k, v in exchange["headers"].items() if k.lower() != "authorization"}
            problems.append(f"  request sent: headers {json.dumps(sent)}; body {exchange['body'][:2000]}")
    if status != 200:
        summary = answer if not isinstance(answer, dict) else {
            k: answer.get(k) for k in ("code", "detail", "errors", "provider")}
        problems.append(f"gateway answered {status}: {json.dumps(summary)}")
    else:
        for error in validator.iter_errors(answer):
            problems.append(f"unified session invalid at /{'/'.join(map(str, error.instance_path))}: {error.message}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default=str(REPO / "target" / "debug" / "checkout-gateway"))
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "providers"))
    parser.add_argument("--prism", default=str(REPO / "tools" / "contract-check" / "node_modules" / ".bin" / "prism"))
    parser.add_argument("--kind", action="append", help="only these kinds (default: every registered kind)")
    args = parser.parse_args()
    stop_children_on_sigterm()
    kinds = args.kind or registered_kinds()
    work = pathlib.Path(tempfile.mkdtemp(prefix="contract-check-"))
    children, recorders, providers, plan = [], [], {}, []
    failures = 0
    try:
        for kind in kinds:
            description = Description(kind, pathlib.Path(args.shared), work)
            port = free_port()
            prism = Child(f"prism ({kind})",
                          [args.prism, "mock", "-h", "127.0.0.1", "-p", str(port), "--errors", str(description.path)],
                          str(work / f"prism-{kind}.log"), env={**os.environ, "SCARF_ANALYTICS": "false"})
            children.append(prism)
            recorder = Recorder(port, TOKEN_ENDPOINTS.get(kind))
            threading.Thread(target=recorder.serve_forever, daemon=True).start()
            recorders.append(recorder)
            for stem, case in succeeding_cases(kind):
                name = f"{kind}-{stem}"
                providers[name] = (kind, f"http://127.0.0.1:{recorder.server_port}", case["provider_config"])
                plan.append((kind, stem, name, case, recorder, description))
            prism.wait_http(f"http://127.0.0.1:{port}/")
            failures += check_fixtures(kind, description, port)
        gateway_port = free_port()
        config = work / "gateway.toml"
        config.write_text(gateway_config(gateway_port, providers))
        gateway = Child("gateway", [args.gateway, "serve", "--config", str(config)], str(work / "gateway.log"),
                        env=gateway_env())
        children.append(gateway)
        base = f"http://127.0.0.1:{gateway_port}"
        gateway.wait_http(f"{base}/healthz")
        validator = session_validator(base)
        results = {kind: [0, 0] for kind in kinds}
        for kind, stem, name, case, recorder, description in plan:
            call_path = case.get("expected_provider_request", {})
            for example in description.example_names(call_path.get("method", "GET"), call_path.get("path", "")):
                prefer = example and f"example={example}"
                problems = run_one(base, validator, recorder, name, case, prefer)
                results[kind][0] += 1
                results[kind][1] += bool(problems)
                print(f"{'ok  ' if not problems else 'FAIL'} {kind:<15} {stem}{f' [{prefer}]' if prefer else ''}")
                for problem in problems:
                    print(f"       {problem}")
        for kind, (run, failed) in results.items():
            print(f"{kind}: {run} runs through Prism, {failed} failed")
            if run == 0:
                print(f"{kind}: no contract case with `expected_session`: nothing was checked")
            failures += failed if run else 1
    finally:
        for recorder in recorders:
            recorder.shutdown()
        for child in reversed(children):
            child.stop()
    if failures:
        print(f"provider contract check FAILED ({failures}); Prism and gateway logs in {work}")
        return 1
    print("provider contract check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
