//! The simulator's session object, shaped like Speed's, and the demo sessions it starts with.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::amount::to_decimal_text;

/// A Speed checkout session as the simulator stores and serves it. Amounts are held as exact
/// JSON number text (`RawValue`), so `450.50` goes out as written, never through a float.
#[derive(Clone, Serialize)]
pub struct DemoSession {
    pub id: String,
    pub object: &'static str,
    pub livemode: bool,
    pub status: &'static str,
    pub default_url: Option<String>,
    pub url: String,
    pub currency: &'static str,
    pub amount: Option<Box<RawValue>>,
    pub target_currency: &'static str,
    pub ttl: i64,
    pub payment_methods: Vec<&'static str>,
    pub statement_descriptor: Option<String>,
    pub description: Option<String>,
    pub success_message: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub amount_paid: Option<Box<RawValue>>,
    pub target_amount_paid: Option<Box<RawValue>>,
    pub payments: Vec<serde_json::Value>,
    pub source: Option<String>,
    pub source_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub cashback: Option<serde_json::Value>,
    pub amount_paid_tolerance: Option<Box<RawValue>>,
    pub title: Option<String>,
    pub title_description: Option<String>,
    pub title_image: Option<String>,
    /// Epoch milliseconds.
    pub created: i64,
    pub modified: i64,
}

/// `minor` units at `exponent` decimals as an exact JSON number.
fn number(minor: i64, exponent: u32) -> Option<Box<RawValue>> {
    RawValue::from_string(to_decimal_text(minor, exponent)).ok()
}

/// 2026-11-22T10:00:00Z, the demo sessions' creation time.
const CREATED: i64 = 1_795_341_600_000;

fn base(id: &str, currency: &'static str, amount: Option<Box<RawValue>>) -> DemoSession {
    DemoSession {
        id: id.to_owned(),
        object: "checkout_session",
        livemode: false,
        status: "active",
        default_url: None,
        url: format!("https://checkout.example/pay/{id}"),
        currency,
        amount,
        target_currency: "SATS",
        ttl: 86_400,
        payment_methods: vec!["onchain", "lightning"],
        statement_descriptor: None,
        description: None,
        success_message: None,
        success_url: None,
        cancel_url: None,
        amount_paid: None,
        target_amount_paid: None,
        payments: Vec::new(),
        source: None,
        source_id: None,
        metadata: BTreeMap::new(),
        cashback: None,
        amount_paid_tolerance: number(1, 1),
        title: None,
        title_description: None,
        title_image: None,
        created: CREATED,
        modified: CREATED,
    }
}

/// The demo sessions (ids documented in the README).
pub fn seed() -> Vec<DemoSession> {
    let mut usd = base("cs_demo_usd", "USD", number(45_050, 2));
    usd.description = Some("Demo order 1001".to_owned());
    usd.success_url = Some("https://shop.example/thank-you".to_owned());
    usd.cancel_url = Some("https://shop.example/cart".to_owned());
    usd.title = Some("Example Shop".to_owned());
    usd.metadata.insert("order_id".to_owned(), "1001".to_owned());

    let mut sats = base("cs_demo_sats", "SATS", number(21_000, 0));
    sats.success_message = Some("Thanks for paying in sats!".to_owned());
    sats.title = Some("Tip jar".to_owned());

    let mut btc = base("cs_demo_btc", "BTC", number(12_345, 8));
    btc.target_currency = "BTC";
    btc.payment_methods = vec!["onchain"];

    let mut paid = base("cs_demo_paid", "USD", number(2_500, 2));
    paid.status = "paid";
    paid.amount_paid = number(2_500, 2);
    paid.target_amount_paid = number(38_000, 0);
    paid.description = Some("Demo order 1000 (paid)".to_owned());
    paid.metadata.insert("order_id".to_owned(), "1000".to_owned());
    paid.modified = CREATED + 600_000;

    let mut deactivated = base("cs_demo_deactivated", "USD", number(1_000, 2));
    deactivated.status = "deactivated";
    deactivated.modified = CREATED + 3_600_000;

    // Stablecoin sessions (API 2022-10-15): amounts carry the token's 6 decimals.
    let mut usdt = base("cs_demo_usdt", "USDT", number(49_990_000, 6));
    usdt.target_currency = "USDT";
    usdt.payment_methods = vec!["ethereum", "solana", "tron"];
    usdt.ttl = 3_600;
    usdt.description = Some("Demo order 1006 (USDT)".to_owned());

    let mut usdc = base("cs_demo_usdc", "USDC", number(12_345_678, 6));
    usdc.target_currency = "USDC";
    usdc.payment_methods = vec!["ethereum", "solana"];

    vec![usd, sats, btc, paid, deactivated, usdt, usdc]
}
