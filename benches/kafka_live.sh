#!/usr/bin/env bash
# The live path's throughput and lag on a real broker (tansu on 127.0.0.1), beside the offline
# replay of the same file measured in the same run.
#
#   backlog: the whole feed is on the topic first; `run` reads it (records/s from topic to
#            feature deltas = records / time of the last record read; the outputs are kept
#            within a minute of event time of the input);
#   --max:   `run` is started, then `produce --max` publishes the feed while it runs: the lag
#            (records on the topic not yet read) is sampled every 100 ms; its maximum is reported.
#
# Usage: benches/kafka_live.sh [MATCHES] [OUT.csv]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oddsflow-target}"
MATCHES="${1:-100}"
CSV="${2:-/dev/null}"
PORT="${KAFKA_BENCH_PORT:-19093}"
BROKERS="127.0.0.1:$PORT"
. .ci/tansu.sh
cargo build --release --bin oddsflow >&2
BIN="$CARGO_TARGET_DIR/release/oddsflow"
WORK="$(mktemp -d)"
trap 'kill "${TANSU_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
start_tansu "$PORT" "$WORK/broker.log"

"$BIN" simulate --matches "$MATCHES" --seed 81 --out "$WORK/feed.jsonl.gz" >&2
echo "mode,workers,outputs,records,seconds,records_per_s,max_lag" >"$CSV"
row() { echo "$*" | tee -a "$CSV"; }

for outputs in all discard; do
  flag=""; [ "$outputs" = discard ] && flag="--discard-outputs"
  line=$("$BIN" replay "$WORK/feed.jsonl.gz" --out "$WORK/replay-$outputs" --policies none --no-progress $flag | head -1)
  secs=$(echo "$line" | sed -E 's/.* in ([0-9.]+)s.*/\1/')
  recs=$(echo "$line" | sed -E 's/replayed ([0-9]+) records.*/\1/')
  row "replay,1,$outputs,$recs,$secs,$(python3 -c "print(round($recs / $secs))"),"
done

"$BIN" produce "$WORK/feed.jsonl.gz" --brokers "$BROKERS" --topic backlog --partitions 4 --max >&2
live() { # TOPIC WORKERS OUTPUTS GROUP
  local flag=""; [ "$3" = discard ] && flag="--discard-outputs"
  "$BIN" run --brokers "$BROKERS" --topic "$1" -w "$2" --out "$WORK/live-$4" --group "$4" \
    --policies none --no-output-topics --no-progress --idle-timeout-ms 500 --exit-when-idle-ms 1500 $flag \
    >/dev/null
  python3 - "$WORK/live-$4/live.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(s["records_read"], round(s["last_read_s"], 2), round(s["records_read"] / s["last_read_s"]), s["max_lag"])
EOF
}
for w in 1 2; do
  for outputs in all discard; do
    read -r recs secs rate lag < <(live backlog "$w" "$outputs" "b$w$outputs")
    row "backlog,$w,$outputs,$recs,$secs,$rate,$lag"
  done
done
for w in 1 2; do
  topic="max$w"
  live "$topic" "$w" all "m$w" >"$WORK/m$w.txt" &
  pid=$!
  sleep 1 # `run` waits for the topic, which `produce` creates
  "$BIN" produce "$WORK/feed.jsonl.gz" --brokers "$BROKERS" --topic "$topic" --partitions 4 --max >&2
  wait "$pid"
  read -r recs secs rate lag <"$WORK/m$w.txt"
  row "produce --max,$w,all,$recs,$secs,$rate,$lag"
done
