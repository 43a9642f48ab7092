//! Keeps credentials out of a streamed provider response. A provider (or a debugging echo
//! endpoint) may repeat the request's `Authorization` in its body or headers; the proxy must
//! never hand the client the credential it injected. Each occurrence of a secret is masked
//! with `*` of the same length, so `Content-Length` stays true and JSON stays valid. Across
//! chunk boundaries the scrubber holds back the last `longest secret - 1` bytes, which could be
//! the start of a secret that the next chunk completes.

use aho_corasick::AhoCorasick;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// Shorter values are too common to mask (the same floor as `AppState::scrub`).
pub const MIN_SECRET_LEN: usize = 6;

/// Why a streamed response ended early.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("the provider's response exceeded {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the provider's response body failed: {0}")]
    Upstream(String),
}

/// The secrets to mask in one response.
pub struct Scrubber {
    finder: Option<AhoCorasick>,
    /// Longest secret minus one: how much to hold back at a chunk boundary.
    hold_back: usize,
}

impl Scrubber {
    /// A scrubber for `secrets`; values shorter than [`MIN_SECRET_LEN`] are ignored.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut patterns: Vec<Vec<u8>> =
            secrets.into_iter().map(|s| s.as_ref().to_vec()).filter(|s| s.len() >= MIN_SECRET_LEN).collect();
        patterns.sort();
        patterns.dedup();
        let hold_back = patterns.iter().map(Vec::len).max().unwrap_or(1) - 1;
        // Building fails only beyond aho-corasick's size limits; then no pattern is usable and
        // the caller must not stream unscrubbed, which `is_usable` tells it.
        let finder = if patterns.is_empty() { None } else { AhoCorasick::new(&patterns).ok() };
        Self { finder, hold_back }
    }

    /// False only when there were secrets but no matcher could be built for them.
    pub fn is_usable(&self) -> bool {
        self.finder.is_some() || self.hold_back == 0
    }

    /// Does `text` hold any secret?
    pub fn contains(&self, text: &[u8]) -> bool {
        self.finder.as_ref().is_some_and(|finder| finder.is_match(text))
    }

    /// Mask every secret in `buf` (overlapping ones too). Returns how far past `cut` the last
    /// match reaching over `cut` goes, for the held-back part.
    fn mask(&self, buf: &mut [u8], already_masked: usize, cut: usize) -> usize {
        let mut beyond_cut = 0;
        let Some(finder) = &self.finder else { return 0 };
        let matches: Vec<(usize, usize)> = match finder.try_find_overlapping_iter(&*buf) {
            Ok(found) => found.map(|m| (m.start(), m.end())).collect(),
            // Overlapping search needs the default match kind, which `new` uses: unreachable,
            // but masking everything is the safe answer if it ever were not.
            Err(_) => vec![(0, buf.len())],
        };
        let len = buf.len();
        buf[..already_masked.min(len)].fill(b'*');
        for (start, end) in matches {
            buf[start..end].fill(b'*');
            if start < cut && end > cut {
                beyond_cut = beyond_cut.max(end - cut);
            }
        }
        beyond_cut
    }

    /// Stream `body` with every secret masked, failing once more than `limit` bytes arrive.
    pub fn stream<S, E>(self, body: S, limit: usize) -> impl Stream<Item = Result<Bytes, StreamError>> + Send + 'static
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: std::fmt::Display + 'static,
    {
        let state = State { body, scrubber: self, carry: Vec::new(), carry_masked: 0, seen: 0, limit, done: false };
        futures_util::stream::unfold(state, State::next)
    }
}

struct State<S> {
    body: S,
    scrubber: Scrubber,
    /// Held-back original bytes, and how many of them are already known to be a secret's tail.
    carry: Vec<u8>,
    carry_masked: usize,
    seen: usize,
    limit: usize,
    done: bool,
}

impl<S, E> State<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    async fn next(mut self) -> Option<(Result<Bytes, StreamError>, Self)> {
        while !self.done {
            match self.body.next().await {
                Some(Ok(chunk)) => {
                    self.seen = self.seen.saturating_add(chunk.len());
                    if self.seen > self.limit {
                        self.done = true;
                        return Some((Err(StreamError::TooLarge { limit: self.limit }), self));
                    }
                    let mut buf = std::mem::take(&mut self.carry);
                    buf.extend_from_slice(&chunk);
                    let cut = buf.len().saturating_sub(self.scrubber.hold_back);
                    let mut masked = buf.clone();
                    let beyond = self.scrubber.mask(&mut masked, self.carry_masked, cut);
                    self.carry = buf.split_off(cut);
                    self.carry_masked = beyond.max(self.carry_masked.saturating_sub(cut));
                    if cut > 0 {
                        masked.truncate(cut);
                        return Some((Ok(Bytes::from(masked)), self));
                    }
                }
                Some(Err(error)) => {
                    self.done = true;
                    return Some((Err(StreamError::Upstream(error.to_string())), self));
                }
                None => {
                    self.done = true;
                    if !self.carry.is_empty() {
                        let mut rest = std::mem::take(&mut self.carry);
                        let len = rest.len();
                        self.scrubber.mask(&mut rest, self.carry_masked, len);
                        return Some((Ok(Bytes::from(rest)), self));
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn scrub(secrets: &[&str], chunks: &[&str], limit: usize) -> Result<String, String> {
        let body = futures_util::stream::iter(
            chunks.iter().map(|c| Ok::<_, std::convert::Infallible>(Bytes::from(c.to_string()))).collect::<Vec<_>>(),
        );
        let mut out = Vec::new();
        let mut stream = std::pin::pin!(Scrubber::new(secrets).stream(body, limit));
        while let Some(item) = stream.next().await {
            out.extend_from_slice(&item.map_err(|e| e.to_string())?);
        }
        Ok(String::from_utf8(out).unwrap())
    }

    #[tokio::test]
    async fn secrets_are_masked_within_and_across_chunks_keeping_the_length() {
        let secrets = ["sk_live_secret", "Bearer sk_live_secret"];
        let whole = "{\"auth\":\"Bearer sk_live_secret\",\"k\":\"sk_live_secret\"}";
        let masked = scrub(&secrets, &[whole], 1 << 20).await.unwrap();
        assert_eq!(masked.len(), whole.len());
        assert!(!masked.contains("secret"), "{masked}");
        // Every split point, including splits inside a secret.
        for split in 1..whole.len() {
            let (a, b) = whole.split_at(split);
            assert_eq!(scrub(&secrets, &[a, b], 1 << 20).await.unwrap(), masked, "split at {split}");
        }
        let bytewise: Vec<String> = whole.chars().map(String::from).collect();
        let bytewise: Vec<&str> = bytewise.iter().map(String::as_str).collect();
        assert_eq!(scrub(&secrets, &bytewise, 1 << 20).await.unwrap(), masked);
    }

    #[tokio::test]
    async fn overlapping_secrets_are_both_masked_and_short_values_ignored() {
        let masked = scrub(&["abcdef", "defghi", "abc"], &["xxabcdefghiyy abc"], 100).await.unwrap();
        assert_eq!(masked, "xx*********yy abc");
        assert_eq!(scrub(&[], &["plain ", "text"], 100).await.unwrap(), "plain text");
    }

    #[tokio::test]
    async fn the_limit_ends_the_stream_with_an_error() {
        let error = scrub(&["abcdef"], &["12345", "67890", "x"], 10).await.unwrap_err();
        assert!(error.contains("exceeded 10 bytes"), "{error}");
        assert!(scrub(&["abcdef"], &["12345", "67890"], 10).await.is_ok());
    }
}
