"""The gateway's API through a client generated from its /openapi.json (openapi-python-client):
update a Stripe demo session, read it back, and get Paypercut's typed `unsupported_field` problem.
Runs against the embedded default config (README: Quickstart); run.sh generates the client into
generated/ first."""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).with_name("generated")))

from checkout_gateway_client import AuthenticatedClient  # noqa: E402
from checkout_gateway_client.api.sessions import retrieve_session, update_session  # noqa: E402
from checkout_gateway_client.models import ErrorCode, Problem, UnifiedSession, UpdateRequest  # noqa: E402


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"example failed: {what}")


gateway = AuthenticatedClient(base_url=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080"), token="demo-tenant-key")

# 1. Update a demo Stripe session (the tenant's default provider).
body = UpdateRequest.from_dict({
    "metadata": {"order_id": "42"},
    "currency": "usd",
    "line_items": [{"name": "T-shirt", "quantity": 2, "unit_amount": 2500}],
})
updated = update_session.sync_detailed("cs_demo_open", client=gateway, body=body, checkout_provider="stripe")
check(isinstance(updated.parsed, UnifiedSession), f"update answered {updated.status_code}: {updated.content!r}")
session = updated.parsed
print(f"updated {session.id} at {session.provider}: total {session.amounts.total} {session.currency}")

# 2. Read it back.
read = retrieve_session.sync_detailed("cs_demo_open", client=gateway, checkout_provider="stripe")
check(isinstance(read.parsed, UnifiedSession), f"read answered {read.status_code}")
check(read.parsed.metadata.additional_properties.get("order_id") == "42", "the read session carries the metadata")
check(read.parsed.line_items[0].name == "T-shirt", "the read session carries the line item just set")
print(f"read {read.parsed.id}: status {read.parsed.status.value}, order_id 42")

# 3. The same body at Paypercut, which can only select a shipping rate: a typed problem.
refused = update_session.sync_detailed(
    "chk_demo_open",
    client=gateway,
    body=UpdateRequest.from_dict({"metadata": {"order_id": "42"}, "currency": "usd"}),
    checkout_provider="paypercut",
)
problem = refused.parsed
check(refused.status_code == 422 and isinstance(problem, Problem), f"expected a 422 problem, got {refused.status_code}")
check(problem.code == ErrorCode.UNSUPPORTED_FIELD, f"expected unsupported_field, got {problem.code}")
pointers = [error.pointer for error in problem.errors]
check({"/metadata/order_id", "/currency"} <= set(pointers), f"pointers: {pointers}")
print(f"paypercut refused ({problem.code.value}, provider {problem.provider.name}): {', '.join(pointers)}")
