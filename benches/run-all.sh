#!/usr/bin/env bash
# Reproduces every table of BENCHMARKS.md, writing the raw results to benches/results/.
# About 75 minutes on a 2-core machine (the Kafka part starts a local tansu broker, installing it
# first on a new machine; the Pathway part installs Pathway into a virtual environment).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oddsflow-target}"
cargo build --release
R=benches/results
mkdir -p "$R"
# Throughput: calendar feeds, then 100 / 1,000 / 10,000 matches in play (10,000: JSON lines only).
cargo bench --bench throughput -- --matches 100,1000 --csv "$R/throughput.csv"
cargo bench --bench throughput -- --matches "" --concurrent 100,1000 --csv "$R/throughput_concurrent.csv"
cargo bench --bench throughput -- --matches "" --concurrent 10000 --formats jsonl \
  --csv "$R/throughput_10000.csv"
cargo bench --bench memory -- --concurrent 100,1000,10000 --live 100 --waves 1,4,16 \
  --csv "$R/memory.csv"
cargo bench --bench profile -- --concurrent 1000 2>/dev/null | grep -v "^ *Running\|Finished" \
  >"$R/profile.txt"
cargo bench --bench latency -- --seconds 5 --csv "$R/latency.csv"
{
  for m in 100 300; do
    cargo bench --bench from_scratch -- --matches "$m" --samples 200
  done
  cargo bench --bench from_scratch -- --concurrent 1000 --samples 100
} 2>/dev/null | grep -v "^ *Running\|Finished" >"$R/from_scratch.txt"
# Ours at rates Pathway can sustain, for the latency ratios that pathway.sh prints.
cargo bench --bench latency -- --rates 1000,2000 --seconds 20 --workers 1,2 \
  --csv "$R/latency_low_rates.csv"
FEED=$(mktemp -d)/feed.jsonl
"$CARGO_TARGET_DIR/release/oddsflow" simulate --matches 100 --seed 7 --out "$FEED"
benches/pathway.sh "$FEED" "$R/pathway.csv"
benches/kafka_live.sh 100 "$R/kafka_live.csv"
