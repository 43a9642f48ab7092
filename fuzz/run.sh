#!/usr/bin/env bash
# Run every fuzz target for N seconds each (default 60) and fail on the first crash.
#   fuzz/run.sh [seconds]
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The toolchain is stable: cargo-fuzz's
# nightly flags (-Zsanitizer=address) are allowed with RUSTC_BOOTSTRAP=1.
# Inputs found during a run go to fuzz/target/corpus/<target> (git-ignored, reused by later local
# runs); the committed seeds in fuzz/corpus/<target> are only read. A crash leaves its input in
# fuzz/artifacts/<target>/ and cargo-fuzz prints how to reproduce and minimise it.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-60}"
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 1
fi

targets=$(cargo fuzz list)
cargo fuzz build
for target in $targets; do
    echo "== fuzz $target for ${seconds}s"
    mkdir -p "target/corpus/$target"
    # -timeout: one input running longer than 10 s counts as a hang (a crash).
    cargo fuzz run "$target" "target/corpus/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "== fuzz: no crash in $(echo "$targets" | wc -w) targets"
