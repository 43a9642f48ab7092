// The gateway's API through a client generated from its /openapi.json (openapi-typescript types,
// openapi-fetch calls): update a Stripe demo session, read it back, and get Paypercut's typed
// `unsupported_field` problem. Runs against the embedded default config (README: Quickstart).
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/schema.js";

type Problem = components["schemas"]["Problem"];

const baseUrl = process.env.GATEWAY_URL ?? "http://127.0.0.1:8080";
const gateway = createClient<paths>({ baseUrl, headers: { Authorization: "Bearer demo-tenant-key" } });

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`example failed: ${what}`);
}

// 1. Update a demo Stripe session (the tenant's default provider).
const updated = await gateway.PATCH("/v1/checkout/sessions/{id}", {
  params: { path: { id: "cs_demo_open" }, header: { "Checkout-Provider": "stripe" } },
  body: {
    metadata: { order_id: "42" },
    currency: "usd",
    line_items: [{ name: "T-shirt", quantity: 2, unit_amount: 2500 }],
  },
});
check(updated.data !== undefined, `update answered ${updated.response.status}: ${JSON.stringify(updated.error)}`);
console.log(`updated ${updated.data.id} at ${updated.data.provider}: total ${updated.data.amounts.total} ${updated.data.currency}`);

// 2. Read it back.
const read = await gateway.GET("/v1/checkout/sessions/{id}", {
  params: { path: { id: "cs_demo_open" }, header: { "Checkout-Provider": "stripe" } },
});
check(read.data !== undefined, `read answered ${read.response.status}`);
check(read.data.metadata?.order_id === "42", "the read session carries the metadata just set");
check(read.data.line_items?.[0]?.name === "T-shirt", "the read session carries the line item just set");
console.log(`read ${read.data.id}: status ${read.data.status}, order_id ${read.data.metadata?.order_id}`);

// 3. The same body at Paypercut, which can only select a shipping rate: a typed problem.
const refused = await gateway.PATCH("/v1/checkout/sessions/{id}", {
  params: { path: { id: "chk_demo_open" }, header: { "Checkout-Provider": "paypercut" } },
  body: { metadata: { order_id: "42" }, currency: "usd" },
});
const problem: Problem | undefined = refused.error;
check(refused.response.status === 422 && problem !== undefined, `expected 422, got ${refused.response.status}`);
check(problem.code === "unsupported_field", `expected unsupported_field, got ${problem.code}`);
const pointers = problem.errors.map((error) => error.pointer);
check(pointers.includes("/metadata/order_id") && pointers.includes("/currency"), `pointers: ${pointers.join(", ")}`);
console.log(`paypercut refused (${problem.code}, provider ${problem.provider?.name}): ${pointers.join(", ")}`);
