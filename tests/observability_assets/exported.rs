//! The metric names the gateway exports, read from a `/metrics` scrape or declared in
//! `src/metrics.rs`, and whether a name an expression uses is one of them.

use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct Exported {
    /// Names a query can select as they are: counters, gauges, and histogram sample names.
    pub series: BTreeSet<String>,
    /// Histogram families, selectable as `<name>_bucket`, `<name>_sum` and `<name>_count`.
    pub histograms: BTreeSet<String>,
}

const HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_sum", "_count"];

impl Exported {
    /// From the Prometheus text format: `# TYPE` lines and sample names.
    pub fn from_scrape(text: &str) -> Self {
        let mut exported = Self::default();
        for line in text.lines() {
            if let Some(declaration) = line.strip_prefix("# TYPE ") {
                let mut words = declaration.split_whitespace();
                if let (Some(name), Some(kind)) = (words.next(), words.next()) {
                    exported.insert(name, kind == "histogram");
                }
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let name = line.split(['{', ' ']).next().unwrap_or_default();
                exported.series.insert(name.to_owned());
            }
        }
        exported
    }

    /// From the `counter!("…"`, `gauge!("…"` and `histogram!("…"` calls of `src/metrics.rs`.
    pub fn from_source(source: &str) -> Self {
        let mut exported = Self::default();
        for (macro_call, histogram) in [("counter!(\"", false), ("gauge!(\"", false), ("histogram!(\"", true)] {
            for (start, _) in source.match_indices(macro_call) {
                let rest = &source[start + macro_call.len()..];
                let name = rest.split('"').next().unwrap_or_default();
                exported.insert(name, histogram);
            }
        }
        exported
    }

    fn insert(&mut self, name: &str, histogram: bool) {
        let set = if histogram { &mut self.histograms } else { &mut self.series };
        set.insert(name.to_owned());
    }

    /// Whether a query may name `metric`: an exported series, or a histogram's sample.
    pub fn has(&self, metric: &str) -> bool {
        self.series.contains(metric)
            || HISTOGRAM_SUFFIXES
                .iter()
                .any(|suffix| metric.strip_suffix(suffix).is_some_and(|family| self.histograms.contains(family)))
    }

    /// The family a name belongs to (`x_bucket` → `x` when `x` is a histogram), for comparing a
    /// scrape with the source's declarations.
    pub fn families(&self) -> BTreeSet<String> {
        let mut families = self.histograms.clone();
        for name in &self.series {
            let family = HISTOGRAM_SUFFIXES
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix).filter(|family| self.histograms.contains(*family)));
            families.insert(family.unwrap_or(name).to_owned());
        }
        families
    }
}
