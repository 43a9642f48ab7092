//! Exact questions about route patterns, answered on their automata instead of by sampling:
//! "is there a session id that both of these match?", "one this format matches but no rule
//! keeps?". Each pattern becomes a DFA of the ids it matches somewhere (`Regex::is_match`
//! semantics); a breadth-first walk over the product of several DFAs, over the bytes a session id
//! may hold (DESIGN §2), finds the shortest id that satisfies a condition on which of them match
//! it, or proves there is none of at most 200 bytes. Limit: a pattern whose DFA would exceed the
//! size bound, or a product beyond the state bound, is `Undecided`, never guessed.

use std::collections::HashMap;

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};

/// The bytes of a session id the gateway accepts: `^[A-Za-z0-9_\-:.]{1,200}$`.
/// In byte order, so the id found is the first of the shortest in byte order.
const ID_BYTES: &[u8] = b"-.0123456789:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const MAX_ID_LEN: usize = 200;
/// Bounds that keep a config check fast whatever the patterns: DFA bytes per pattern, product
/// states per question.
const DFA_SIZE_LIMIT: usize = 4 << 20;
const MAX_PRODUCT_STATES: usize = 200_000;

/// Why a pattern has no automaton here: it is too large, or uses what a DFA cannot express.
#[derive(Debug, thiserror::Error)]
pub enum NoAutomaton {
    #[error("the pattern cannot be compared exactly: {0}")]
    Build(#[source] Box<dense::BuildError>),
    #[error("the pattern cannot be compared exactly: {0}")]
    Start(#[source] regex_automata::dfa::StartError),
}

/// The session ids a pattern matches.
pub struct IdLanguage {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
}

impl IdLanguage {
    pub fn new(pattern: &str) -> Result<Self, NoAutomaton> {
        // Anchored on both sides around "anywhere": the whole id is walked, and a match of the
        // pattern at any place in it leaves the DFA in a match state at the end.
        let wrapped = format!("(?s:.)*(?:{pattern})(?s:.)*");
        let config = dense::Config::new()
            .match_kind(MatchKind::All)
            .start_kind(StartKind::Anchored)
            // Ids are ASCII: a Unicode word boundary is decided on ASCII alone.
            .unicode_word_boundary(true)
            .dfa_size_limit(Some(DFA_SIZE_LIMIT))
            .determinize_size_limit(Some(DFA_SIZE_LIMIT));
        let dfa =
            dense::Builder::new().configure(config).build(&wrapped).map_err(|e| NoAutomaton::Build(Box::new(e)))?;
        let start = dfa.start_state(&start::Config::new().anchored(Anchored::Yes)).map_err(NoAutomaton::Start)?;
        Ok(Self { dfa, start })
    }

    fn step(&self, state: StateID, byte: u8) -> StateID {
        self.dfa.next_state(state, byte)
    }

    fn matches_at_end(&self, state: StateID) -> bool {
        let end = self.dfa.next_eoi_state(state);
        self.dfa.is_match_state(end) && !self.dfa.is_quit_state(end)
    }
}

/// The answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// The shortest such id (the first in byte order among the shortest).
    Found(String),
    /// No id of the gateway's alphabet and length has it.
    None,
    /// The product grew beyond its bound.
    Undecided,
}

/// The shortest session id for which `accept` holds, given for each language whether it
/// matches the id.
pub fn shortest_id(languages: &[&IdLanguage], accept: impl Fn(&[bool]) -> bool) -> Search {
    let first: Vec<StateID> = languages.iter().map(|l| l.start).collect();
    // Each explored state: its parent's index and the byte that led here (a tree to read ids back).
    let mut nodes: Vec<(Vec<StateID>, usize, u8)> = vec![(first.clone(), usize::MAX, 0)];
    let mut seen: HashMap<Vec<StateID>, usize> = HashMap::from([(first, 0)]);
    let mut depth_start = 0;
    for length in 0..=MAX_ID_LEN {
        let depth_end = nodes.len();
        if depth_start == depth_end {
            return Search::None;
        }
        for index in depth_start..depth_end {
            let ends: Vec<bool> =
                languages.iter().zip(&nodes[index].0).map(|(l, state)| l.matches_at_end(*state)).collect();
            if length > 0 && accept(&ends) {
                return Search::Found(read_back(&nodes, index));
            }
        }
        if length == MAX_ID_LEN {
            break;
        }
        for index in depth_start..depth_end {
            for &byte in ID_BYTES {
                let next: Vec<StateID> =
                    languages.iter().zip(&nodes[index].0).map(|(l, state)| l.step(*state, byte)).collect();
                if seen.contains_key(&next) {
                    continue;
                }
                if nodes.len() >= MAX_PRODUCT_STATES {
                    return Search::Undecided;
                }
                seen.insert(next.clone(), nodes.len());
                nodes.push((next, index, byte));
            }
        }
        depth_start = depth_end;
    }
    Search::None
}

fn read_back(nodes: &[(Vec<StateID>, usize, u8)], mut index: usize) -> String {
    let mut bytes = Vec::new();
    while nodes[index].1 != usize::MAX {
        bytes.push(nodes[index].2);
        index = nodes[index].1;
    }
    bytes.reverse();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn language(pattern: &str) -> IdLanguage {
        IdLanguage::new(pattern).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_shortest_id_both_patterns_match_is_found() {
        let (a, b) = (language("^cs_(test|live)_[A-Za-z0-9]+$"), language("^cs_[A-Za-z0-9_]+$"));
        assert_eq!(shortest_id(&[&a, &b], |m| m[0] && m[1]), Search::Found("cs_live_0".to_owned()));
    }

    #[test]
    fn disjoint_patterns_share_no_id() {
        let uuid = language("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
        let prefixed = language("^cs_");
        assert_eq!(shortest_id(&[&uuid, &prefixed], |m| m[0] && m[1]), Search::None);
    }

    #[test]
    fn an_unanchored_pattern_matches_anywhere_in_the_id() {
        let anywhere = language("demo");
        let prefix = language("^x");
        assert_eq!(shortest_id(&[&anywhere, &prefix], |m| m[0] && m[1]), Search::Found("xdemo".to_owned()));
    }

    #[test]
    fn an_id_one_pattern_matches_and_the_other_does_not() {
        let format = language("^cs_(test|live)_[A-Za-z0-9]+$");
        let rule = language("^cs_test_");
        assert_eq!(shortest_id(&[&format, &rule], |m| m[0] && !m[1]), Search::Found("cs_live_0".to_owned()));
        let covering = language("^cs_");
        assert_eq!(shortest_id(&[&format, &covering], |m| m[0] && !m[1]), Search::None);
    }

    #[test]
    fn ids_are_bounded_by_the_gateway_rule() {
        // Only ids longer than 200 bytes match: none the gateway accepts.
        let long = language("^a{201}$");
        assert_eq!(shortest_id(&[&long], |m| m[0]), Search::None);
        // Characters the gateway refuses never appear in an id.
        let slash = language("/");
        assert_eq!(shortest_id(&[&slash], |m| m[0]), Search::None);
    }
}
