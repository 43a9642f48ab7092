#!/usr/bin/env python3
"""Regenerate the committed fuzz seeds from the providers' contract cases.

corpus/update_request/     each case's `unified_request`, as compact JSON
corpus/provider_response/  each case's provider answers (`provider_response`, `current_state`)
                           in the target's input format: status index, header bits, body

STATUSES and HEADERS must match fuzz_targets/provider_response.rs. Standard library only.
Usage: python3 fuzz/seed_corpus.py  (from anywhere; replaces the seeds it generates).
"""

import hashlib
import json
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
PROVIDERS = FUZZ.parent / "providers"

STATUSES = [200, 201, 202, 204, 301, 400, 401, 402, 403, 404, 409, 410, 422, 425, 429, 500, 502, 503, 504, 599]
HEADERS = [
    ("content-type", "application/json"),
    ("content-type", "text/html; charset=utf-8"),
    ("request-id", None),
    ("x-request-id", None),
    ("stripe-should-retry", "true"),
    ("stripe-should-retry", "false"),
    ("retry-after", "2"),
    ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
]


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def response_input(response):
    """The target's bytes for a contract case response, or None if its status is not listed."""
    if response["status"] not in STATUSES:
        return None
    headers = {name.lower(): str(value) for name, value in response.get("headers", {}).items()}
    if "body" in response:
        headers.setdefault("content-type", "application/json")
        body = compact(response["body"])
    else:
        body = response.get("body_text", "").encode()
    flags = 0
    for bit, (name, value) in enumerate(HEADERS):
        present = headers.get(name)
        if present is not None and (value is None or present.split(";")[0] == value.split(";")[0]):
            flags |= 1 << bit
    return bytes([STATUSES.index(response["status"]), flags]) + body


def write(directory, stem, data):
    """Write a seed once per content (many cases share a response)."""
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:8]
    if not any(directory.glob(f"case-*-{digest}")):
        (directory / f"{stem}-{digest}").write_bytes(data)


def main():
    requests = FUZZ / "corpus" / "update_request"
    responses = FUZZ / "corpus" / "provider_response"
    for directory in (requests, responses):
        for old in directory.glob("case-*"):
            old.unlink()
    for path in sorted(PROVIDERS.glob("*/contracts/*.json")):
        case = json.loads(path.read_text())
        stem = f"case-{path.parent.parent.name}-{path.stem.split('-')[0]}"
        if case.get("unified_request") is not None:
            write(requests, stem, compact(case["unified_request"]))
        for response in (case.get("provider_response"), (case.get("current_state") or {}).get("response")):
            data = response and response_input(response)
            if data:
                write(responses, stem, data)


if __name__ == "__main__":
    main()
