#!/usr/bin/env bash
# Reproduces every table of BENCHMARKS.md, writing the raw results to benches/results/.
# About 20 minutes on a 2-core machine (the Kafka part starts a local tansu broker, installing
# it first on a new machine).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oddsflow-target}"
R=benches/results
mkdir -p "$R"
cargo bench --bench throughput -- --matches 100,1000 --csv "$R/throughput.csv"
cargo bench --bench latency -- --seconds 5 --csv "$R/latency.csv"
for m in 100 300; do
  cargo bench --bench from_scratch -- --matches "$m" --samples 200
done | grep -v "^ *Running\|Finished" >"$R/from_scratch.txt"
benches/kafka_live.sh 100 "$R/kafka_live.csv"
