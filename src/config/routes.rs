//! Routing during a provider switch (DESIGN §12): `tenants.<name>.routes` are rules that pick the
//! provider from the session id, tried in order after `Checkout-Provider` and before the tenant's
//! default. A rule's `session_ids` is a regular expression (`Regex::is_match`: anchor it with `^`
//! to mean a prefix) or `provider_format`, the provider's published format
//! (`ProviderFactory::session_ids`). What rules overlap (`check-config` warnings) and what a
//! cutover leaves on the old provider (the switch report) are decided on the patterns' automata
//! (`language`), not by sampling.

mod language;

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;
use schemars::JsonSchema;
use serde::Serialize;

use self::language::{IdLanguage, NoAutomaton, Search, shortest_id};
use super::raw::RawRoute;
use super::{ConfigError, Provider, Tenant};

/// The keyword that takes the provider's published session-id format.
pub const PROVIDER_FORMAT: &str = "provider_format";
/// Bound on a written expression's compiled size: config is not a place for huge automata.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct Route {
    /// `routes[<index>]`, as the config numbers it.
    pub index: usize,
    pub provider: String,
    /// As written: an expression, or `provider_format`.
    pub written: String,
    /// The expression in force (the published pattern for `provider_format`).
    pub pattern: Regex,
}

impl Route {
    /// How reports name the rule's sessions: "`^cs_`" or "provider_format (`^…$`)".
    pub fn sessions(&self) -> String {
        if self.written == PROVIDER_FORMAT {
            format!("{PROVIDER_FORMAT} (`{}`)", self.pattern.as_str())
        } else {
            format!("`{}`", self.written)
        }
    }

    pub fn label(&self) -> String {
        format!("routes[{}]", self.index)
    }

    /// `routes[0] (`^cs_` -> old)`, for warnings.
    fn describe(&self) -> String {
        format!("{} ({} -> {})", self.label(), self.sessions(), self.provider)
    }
}

/// Validate a tenant's `routes`: each provider must be one the tenant may use, each expression
/// must compile. `allowed` is the tenant's `allowed_providers` (already checked to exist).
pub fn build(
    tenant: &str,
    raw: &[RawRoute],
    allowed: &[String],
    providers: &BTreeMap<String, Arc<Provider>>,
) -> Result<Vec<Route>, ConfigError> {
    raw.iter()
        .enumerate()
        .map(|(index, rule)| {
            let key = |field: &str| format!("tenants.{tenant}.routes[{index}].{field}");
            let provider =
                providers.get(&rule.provider).filter(|_| allowed.contains(&rule.provider)).ok_or_else(|| {
                    ConfigError::new(key("provider"), format!("`{}` is not in allowed_providers", rule.provider))
                })?;
            let pattern = if rule.session_ids == PROVIDER_FORMAT {
                provider.factory.session_ids.pattern
            } else {
                rule.session_ids.as_str()
            };
            let pattern = regex::RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| ConfigError::new(key("session_ids"), regex_problem(&e)))?;
            Ok(Route { index, provider: rule.provider.clone(), written: rule.session_ids.clone(), pattern })
        })
        .collect()
}

/// Why an expression is refused, on one line and without repeating it (config errors never
/// quote values): the parser's own text is the expression, a caret, then `error: …`.
fn regex_problem(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => {
            let why = text.lines().rev().find(|line| line.starts_with("error:")).unwrap_or("error: invalid syntax");
            format!("not a valid regular expression ({why})")
        }
        regex::Error::CompiledTooBig(limit) => format!("the expression compiles beyond {limit} bytes"),
        _ => "not a valid regular expression".to_owned(),
    }
}

/// The first rule matching `session_id`.
pub fn select<'a>(routes: &'a [Route], session_id: &str) -> Option<&'a Route> {
    routes.iter().find(|route| route.pattern.is_match(session_id))
}

/// `check-config` warnings for one tenant: rules that match no id the gateway accepts, rules
/// never chosen (earlier rules take every id they match), and two rules to different providers
/// that can match the same session id (the first listed wins; the witness is the shortest such
/// id).
pub fn warnings(tenant: &Tenant) -> Vec<String> {
    let prefix = format!("tenants.{}.routes", tenant.name);
    let languages: Vec<Result<IdLanguage, NoAutomaton>> =
        tenant.routes.iter().map(|r| IdLanguage::new(r.pattern.as_str())).collect();
    let mut out = Vec::new();
    for (route, language) in tenant.routes.iter().zip(&languages) {
        match language {
            Err(why) => out.push(format!("{prefix}: {} is not checked for overlaps: {why}", route.label())),
            Ok(language) => {
                if shortest_id(&[language], |m| m[0]) == Search::None {
                    out.push(format!("{prefix}: {} matches no session id the gateway accepts", route.describe()));
                }
            }
        }
    }
    out.extend(shadowed(&prefix, &tenant.routes, &languages));
    for (i, a) in tenant.routes.iter().enumerate() {
        for (j, b) in tenant.routes.iter().enumerate().skip(i + 1) {
            let (Ok(la), Ok(lb)) = (&languages[i], &languages[j]) else { continue };
            if a.provider == b.provider {
                continue;
            }
            let pair = format!("{} and {}", a.describe(), b.describe());
            match shortest_id(&[la, lb], |m| m[0] && m[1]) {
                Search::Found(id) => out.push(format!(
                    "{prefix}: overlapping rules: {pair} both match session ids such as `{id}`; the first listed wins"
                )),
                Search::Undecided => out.push(format!("{prefix}: {pair} could not be compared exactly; check by hand")),
                Search::None => {}
            }
        }
    }
    out
}

/// Rules never chosen: every id they match is taken by an earlier rule (e.g. behind a catch-all).
fn shadowed(prefix: &str, routes: &[Route], languages: &[Result<IdLanguage, NoAutomaton>]) -> Vec<String> {
    let mut out = Vec::new();
    for (j, route) in routes.iter().enumerate().skip(1) {
        let Ok(own) = &languages[j] else { continue };
        let Some(earlier) = languages[..j].iter().map(|l| l.as_ref().ok()).collect::<Option<Vec<_>>>() else {
            continue;
        };
        let mut all = vec![own];
        all.extend(earlier);
        let reachable = shortest_id(&all, |m| m[0] && !m[1..].iter().any(|matched| *matched));
        // A rule that matches nothing at all is reported once, above.
        if reachable == Search::None && shortest_id(&[own], |m| m[0]) != Search::None {
            out.push(format!(
                "{prefix}: {} is never chosen: earlier rules match every id it matches",
                route.describe()
            ));
        }
    }
    out
}

/// What the tenant's rules do in a cutover from provider `from` to `to` (`to` becoming the
/// default): the switch report's `routes` section.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Cutover {
    pub from: String,
    /// The rules that keep sessions on `from`.
    pub kept: Vec<Kept>,
    /// A session id in `from`'s published format that no rule keeps on `from`: such sessions
    /// still open there would go elsewhere after the cutover. `None`: every one is kept.
    pub left: Option<Moved>,
    /// A session id in `to`'s published format that a rule sends elsewhere: new sessions at
    /// `to` would not reach it. `None`: none is.
    pub diverted: Option<Moved>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Kept {
    pub route: String,
    pub session_ids: String,
    pub says: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Moved {
    /// The shortest such id; `None` when it could not be decided (`says` tells why).
    pub example: Option<String>,
    /// Where that id would go.
    pub goes_to: Option<String>,
    pub says: String,
}

pub fn cutover(tenant: &Tenant, from: &Provider, to: &Provider) -> Cutover {
    let kept = tenant
        .routes
        .iter()
        .filter(|route| route.provider == from.name)
        .map(|route| Kept {
            route: route.label(),
            session_ids: route.written.clone(),
            says: format!("sessions matching {} stay on {} by {}", route.sessions(), from.name, route.label()),
        })
        .collect();
    // After the cutover an id goes to its first matching rule's provider, else to `to`.
    let destination = |id: &str| goes_to(select(&tenant.routes, id), &to.name).to_owned();
    let left = find_routed(tenant, from, |first| goes_to(first, &to.name) != from.name).map(|found| {
        found.into_moved(&destination, |id, goes_to| {
            format!(
                "sessions at {} such as `{id}` ({}) match no rule keeping them there and go to {goes_to}; add {{ provider = \"{}\", session_ids = \"{PROVIDER_FORMAT}\" }} to keep them",
                from.name, from.factory.session_ids.described, from.name
            )
        })
    });
    let diverted = find_routed(tenant, to, |first| goes_to(first, &to.name) != to.name).map(|found| {
        found.into_moved(&destination, |id, goes_to| {
            format!("new sessions at {} such as `{id}` match a rule sending them to {goes_to}", to.name)
        })
    });
    Cutover { from: from.name.clone(), kept, left, diverted }
}

/// Where an id goes after the cutover: its first matching rule's provider, else the new default.
fn goes_to<'a>(first: Option<&'a Route>, default: &'a str) -> &'a str {
    first.map_or(default, |route| route.provider.as_str())
}

/// A search's outcome, before it is worded.
enum Found {
    Id(String),
    Undecided(String),
}

impl Found {
    fn into_moved(self, destination: &dyn Fn(&str) -> String, say: impl Fn(&str, &str) -> String) -> Moved {
        match self {
            Self::Id(id) => {
                let goes_to = destination(&id);
                Moved { says: say(&id, &goes_to), example: Some(id), goes_to: Some(goes_to) }
            }
            Self::Undecided(why) => Moved { example: None, goes_to: None, says: why },
        }
    }
}

/// The shortest id in `provider`'s published format whose first matching rule (if any)
/// satisfies `wanted`.
fn find_routed(tenant: &Tenant, provider: &Provider, wanted: impl Fn(Option<&Route>) -> bool) -> Option<Found> {
    let undecided = |why: String| Some(Found::Undecided(format!("not decided for {}: {why}", provider.name)));
    let format = match IdLanguage::new(provider.factory.session_ids.pattern) {
        Ok(language) => language,
        Err(e) => return undecided(e.to_string()),
    };
    let mut rules = Vec::new();
    for route in &tenant.routes {
        match IdLanguage::new(route.pattern.as_str()) {
            Ok(language) => rules.push(language),
            Err(e) => return undecided(format!("{}: {e}", route.label())),
        }
    }
    let mut languages = vec![&format];
    languages.extend(rules.iter());
    let search = shortest_id(&languages, |m| {
        m[0] && wanted(m[1..].iter().position(|matched| *matched).map(|at| &tenant.routes[at]))
    });
    match search {
        Search::Found(id) => Some(Found::Id(id)),
        Search::None => None,
        Search::Undecided => undecided("the rules are too large to compare exactly".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(index: usize, provider: &str, pattern: &str) -> Route {
        let regex = Regex::new(pattern).unwrap_or_else(|e| panic!("{e}"));
        Route { index, provider: provider.to_owned(), written: pattern.to_owned(), pattern: regex }
    }

    #[test]
    fn the_first_matching_rule_wins_and_patterns_match_anywhere_unless_anchored() {
        let routes = [route(0, "old", "^cs_old_"), route(1, "new", "cs_"), route(2, "third", "_old_")];
        let chosen = |id: &str| select(&routes, id).map(|r| r.provider.as_str());
        assert_eq!(chosen("cs_old_1"), Some("old"));
        assert_eq!(chosen("x_cs_old_1"), Some("new"), "`^` anchors routes[0]; `cs_` matches anywhere");
        assert_eq!(chosen("a_old_1"), Some("third"));
        assert_eq!(chosen("9f0c"), None, "no rule: the tenant's default");
    }

    #[test]
    fn reports_name_a_rule_by_its_index_and_its_pattern() {
        let mut rule = route(3, "old", "^cs_(test|live)_");
        assert_eq!((rule.label(), rule.sessions()), ("routes[3]".to_owned(), "`^cs_(test|live)_`".to_owned()));
        rule.written = PROVIDER_FORMAT.to_owned();
        assert_eq!(rule.sessions(), "provider_format (`^cs_(test|live)_`)");
    }
}
