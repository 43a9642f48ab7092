//! The passthrough's request checks on arbitrary input, with the invariants they exist for.
//! The input is lines: a method, an allow rule, the path after `/v1/passthrough/{provider}/`,
//! then `name: value` header lines.
//!
//! - A path `forward_path` accepts never leaves the provider's API: resolved under a base URL
//!   by a WHATWG URL parser (which walks `..`, `%2e%2e` and `\`), it keeps the base path and
//!   exactly the segments the allow-list matched, and it holds no `;`, `%25` or dot segment.
//! - A rule matches only paths whose segments agree with its literals (an independent reading
//!   of the pattern).
//! - Of the client's headers, only allow-listed ones survive the filter: never a deny-listed
//!   name (even when declared), a provider account selector, a name the `Connection` header
//!   lists, or a value the client did not send; and no hop-by-hop header, cookie or foreign
//!   replay marker comes back from a provider.
#![no_main]

use checkout_gateway::passthrough::headers::{ALWAYS_FORWARDED, never_forwarded, request_headers, response_headers};
use checkout_gateway::passthrough::{AllowRule, forward_path};
use checkout_gateway_fuzz::harness;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;

/// Where the provider's API lives in the check: the base path must survive resolution.
const BASE: &str = "https://provider.invalid/api";
const PREFIX: &str = "/v1/passthrough/p/";

/// Provider account selectors: routing only the operator's config may choose.
const ACCOUNT_SELECTORS: [&str; 4] =
    ["stripe-account", "stripe-context", "paypercut-account", "x-gr4vy-merchant-account-id"];

/// A declaration that tries to let deny-listed names through.
const HOSTILE_DECLARATION: [&str; 7] =
    ["range", "x-forwarded-for", "forwarded", "x-http-method-override", "authorization", "connection", "x-kept"];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let method = Method::from_bytes(lines.next().unwrap_or_default().trim().as_bytes()).unwrap_or(Method::GET);
    let rule = AllowRule::parse(lines.next().unwrap_or_default());
    let raw_path = lines.next().unwrap_or_default();
    let headers = header_map(lines);

    // The path as the handler sees it: what an `http::Uri` keeps of the request target.
    if let Ok(uri) = format!("{PREFIX}{raw_path}").parse::<http::Uri>()
        && let Some(rest) = uri.path().strip_prefix(PREFIX)
        && let Ok(path) = forward_path(rest)
    {
        check_forwarded_path(rest, &path.raw, &path.segments);
        if let Ok(rule) = &rule
            && rule.matches(&method, &path.segments)
        {
            assert!(pattern_agrees(rule.path_pattern(), &path.segments), "{rule} matched {:?}", path.segments);
        }
    }

    let declared: Vec<&'static [&'static str]> = harness()
        .targets
        .iter()
        .map(|target| target.provider.adapter.passthrough_request_headers())
        .chain([&HOSTILE_DECLARATION[..]])
        .collect();
    for allowed in declared {
        check_request_headers(&headers, allowed);
    }
    check_response_headers(&headers);
});

fn header_map<'a>(lines: impl Iterator<Item = &'a str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_str(value.trim()))
        {
            headers.append(name, value);
        }
    }
    headers
}

fn check_forwarded_path(rest: &str, raw: &str, segments: &[String]) {
    assert_eq!(raw, format!("/{rest}"), "the raw path is forwarded unchanged");
    let lower = rest.to_ascii_lowercase();
    assert!(!lower.contains(';') && !lower.contains("%3b") && !lower.contains("%25"), "{rest}");
    assert_eq!(segments.len(), rest.split('/').count());
    for segment in segments {
        assert!(!segment.is_empty() && segment != "." && segment != "..", "{rest}");
        assert!(!segment.contains(['/', '\\', '%', ';']), "{rest}");
        assert!(!segment.chars().any(char::is_control), "{rest}");
    }
    let resolved = url::Url::parse(&format!("{BASE}{raw}")).unwrap_or_else(|e| panic!("{raw}: {e}"));
    let resolved: Vec<String> = resolved
        .path_segments()
        .unwrap_or_else(|| panic!("{raw}: no path"))
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    assert_eq!(resolved.first().map(String::as_str), Some("api"), "{raw} left the base path");
    assert_eq!(&resolved[1..], segments, "{raw} resolves to other segments than were matched");
}

/// The pattern read on its own: literals equal, `*` any one segment, a final `**` one or more.
fn pattern_agrees(pattern: &str, segments: &[String]) -> bool {
    let parts: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let rest = parts.last() == Some(&"**");
    let fixed = if rest { &parts[..parts.len() - 1] } else { &parts[..] };
    let count_ok = if rest { segments.len() > fixed.len() } else { segments.len() == fixed.len() };
    count_ok && fixed.iter().zip(segments).all(|(part, segment)| *part == "*" || part == segment)
}

fn check_request_headers(client: &HeaderMap, declared: &[&str]) {
    let named: Vec<String> = client
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .collect();
    let forwarded = request_headers(client, declared);
    for (name, value) in &forwarded {
        let name = name.as_str();
        assert!(
            ALWAYS_FORWARDED.contains(&name) || declared.iter().any(|d| d.eq_ignore_ascii_case(name)),
            "{name} is not allow-listed"
        );
        assert!(!never_forwarded(name), "{name} is deny-listed");
        assert!(!ACCOUNT_SELECTORS.contains(&name) || declared.contains(&name), "{name} selects an account");
        assert!(!named.iter().any(|n| n == name), "{name} is hop-by-hop for this message");
        assert!(client.get_all(name).iter().any(|sent| sent == value), "{name} has a value the client did not send");
    }
    if declared.iter().all(|d| !ACCOUNT_SELECTORS.contains(d)) {
        assert!(ACCOUNT_SELECTORS.iter().all(|s| !forwarded.contains_key(*s)));
    }
}

fn check_response_headers(provider: &HeaderMap) {
    for name in response_headers(provider).keys() {
        let name = name.as_str();
        assert!(
            !matches!(
                name,
                "set-cookie"
                    | "set-cookie2"
                    | "idempotent-replayed"
                    | "connection"
                    | "keep-alive"
                    | "te"
                    | "trailer"
                    | "transfer-encoding"
                    | "upgrade"
            ) && !name.starts_with("proxy-"),
            "{name} came back from the provider"
        );
    }
}
