#!/usr/bin/env bash
# The Pathway baseline: the same team match aggregates, sliding-window dominance and market
# availability as oddsflow's dataflows, written in Pathway (benches/pathway/pipeline.py), checked
# for equality against `oddsflow replay` and timed beside it on the same feed.
#
#   benches/pathway.sh FEED.jsonl [CSV]
#
# FEED is a JSON-lines feed (`oddsflow simulate --out FEED.jsonl`); CSV, when given, gets the
# timings appended.
#
# Environment: PYTHON (>= 3.10, for the virtualenv; default python3), ODDSFLOW_TOOLS (default ~/.cache/oddsflow-tools; the virtualenv lives in
# $ODDSFLOW_TOOLS/pathway-venv, created and pip-installed from benches/pathway/requirements.txt
# on first use, reused after), ODDSFLOW (the binary; default
# ${CARGO_TARGET_DIR:-target}/release/oddsflow), PATHWAY_CHECK_PERCENTILE (70),
# PATHWAY_THREADS_LIST (PATHWAY_THREADS values timed in batch mode, "1 2"),
# PATHWAY_STREAM_THREADS_LIST (the same for stream mode, "1 2"), PATHWAY_STREAM (0: leave the
# stream mode out of the check and the timings), PATHWAY_LATENCY (0: skip step 3) and, for step 3,
# PATHWAY_LATENCY_RATES ("1000,2000"), PATHWAY_LATENCY_SECONDS (20), PATHWAY_LATENCY_THREADS_LIST
# ("1 2"), PATHWAY_LATENCY_COMMIT_MS_LIST ("1 5"), PATHWAY_LATENCY_CSV
# (benches/results/pathway_latency.csv, rewritten), PATHWAY_LATENCY_OURS (oddsflow's rows at the
# same rates, for the ratios: benches/results/latency_low_rates.csv).
#
# 1. Equality check. t = the 1000 ms granule of the feed's 70th-percentile event time (past the
#    middle, so that some matches have already retired, some are settled but not yet retired,
#    and about half are live). `oddsflow replay FEED --policies none` writes its change tables;
#    their consolidation over time <= t is oddsflow's state as of t. The Pathway pipeline reads
#    the records oddsflow had sent at a time <= t (`check.py sample`: replay's time rule, which
#    for a feed without late records is every record with ts <= t + 999) with
#    `--until-ts t+999`, and writes its state as of t. `check.py compare` compares team match
#    stats (every match with a status, both sides), dominance (every live match, 5 and 10 min
#    windows) and available quotes (match, market, selection -> phase, price) row by row,
#    floats exactly; retired matches have no rows on either side. Then the dominance *history*:
#    every dominance row oddsflow inserted at a time <= t against the value Pathway's history
#    holds at that time. Any difference fails the script (exit 1) with examples. No field is
#    excluded: on simulated feeds the semantic differences listed in pipeline.py's docstring
#    never arise (the check would show them). Both Pathway modes are checked (the stream mode's
#    outputs consolidated at the end).
#
# 2. Throughput, wall clock of each whole process (start-up, reading and parsing the file
#    included), on the whole feed, outputs discarded:
#    - oddsflow: `oddsflow replay FEED --policies none --discard-outputs --no-progress -w 1`
#      and `-w 2`.
#    - pathway batch: `pipeline.py FEED --discard-outputs`, Pathway's static mode (the whole
#      file as one batch): team match stats and availability as of the end of the feed, and the
#      dominance history (every window at every time it changes, all matches); PATHWAY_THREADS=1
#      and 2.
#    - pathway stream: `pipeline.py FEED --stream --discard-outputs`: the same outputs, but the
#      feed goes through Pathway's Python connector with one commit per 1000 ms granule of event
#      time, so that Pathway keeps every output up to date granule by granule, as oddsflow's
#      replay does; PATHWAY_THREADS=1 and 2.
#    Not like for like, in Pathway's favour: oddsflow's replay also computes player match stats,
#    player totals, ratings, league averages, prematch closes and feature vectors, and keeps its
#    1000 ms history of all of them; Pathway's batch mode computes the history of the dominance
#    only. The stream mode is the closer comparison for the work, but pays for Python in the
#    connector (`json.loads` per line, in Pathway 0.33).
#    Rows are appended to CSV: system,mode,workers,feed,records,seconds,records_per_s,load_avg
#    (the 1-minute load average just before the run: other work on the machine shows there).
#
# 3. Open-loop latency (benches/pathway/latency.py; its docstring has the details), comparable
#    with benches/latency.rs run at the same rates (Pathway's connector cannot take latency.rs's
#    default 10,000 to 500,000 records/s):
#      cargo bench --bench latency -- --rates 1000,2000 --seconds 20 --workers 1,2 \
#          --csv benches/results/latency_low_rates.csv
#    The same records: `oddsflow simulate --matches 300 --seed 1 --noise typical` (the feed
#    latency.rs simulates), malformed lines left out, in file order, re-timed to the schedule
#    (record i due i/rate s after the start, ts = that time in ms, no lateness). The pipeline is
#    pipeline.py's at a 1 ms granularity (latency.rs runs oddsflow at granularity_ms = 1), fed by
#    a Python connector thread that hands each record over when it falls due, however late it is
#    (open loop, no coordinated omission), and commits each granule of the schedule once the
#    clock has left it, as latency.rs downgrades its input to the current millisecond. Latency =
#    from the record's scheduled time to the `on_time_end` of a subscription whose frontier is
#    that of every output (a heartbeat table: the input's per-commit marks beside each output
#    filtered to nothing) for the Pathway time of its commit. Pathway 0.33 gives each commit a
#    new time (wall-clock ms rounded to even, at least 2 ms after the last), not the commit's
#    number: the mapping is read from the marks. p50, p99, p99.9, max per rate, PATHWAY_THREADS
#    and commit granule.
#    Commit granules: 1 ms, as latency.rs, and 5 ms, the one Pathway handled best here. At 1 ms
#    every commit is a Pathway time and the per-time cost dominates (at 1,000/s, 1 thread: p50
#    ~40 ms at 1 ms, ~6.5 ms at 5 ms; 2, 3, 4, 10 and 20 ms were worse at p50 or p99).
#    What it costs Pathway and not oddsflow: the records enter through Python (json.loads and a
#    queue put per record, converted to engine values under the GIL, which the connector thread,
#    Pathway's reader thread and the subscription callback share; the records are handed over
#    0.1 ms late at the median, a few ms at worst, and that counts in the latency). oddsflow
#    parses its lines in the dataflow and computes all of its collections; Pathway only
#    pipeline.py's outputs (see step 2).
#    What the schedule covers: 20 s at 1,000/s or 2,000/s is the feed's first 20,000 or 40,000
#    records: until about record 20,000 fixtures, markets and odds (no match in play), in-play
#    incidents from about 24,000. There Pathway falls behind: the schedule squeezes a match into
#    a minute or two, so every event stays in both dominance windows, and pipeline.py's
#    interval-join dominance history does work per new event in proportion to the events
#    already in its match's windows; at 2,000/s (and at 1,000/s past 20 s) the latency grows to
#    seconds in the in-play part, so p99 and above measure a backlog, not a steady state.
#    latency.py reports the median latency by tenth of the run, which shows it.
#    Rows, to PATHWAY_LATENCY_CSV (rewritten): system,workers,rate,records,p50_ms,p99_ms,p999_ms,
#    max_ms,commit_ms,load_avg; then the ratios Pathway ÷ oddsflow at p50 and p99, where
#    oddsflow's rows are in PATHWAY_LATENCY_OURS.
set -euo pipefail

FEED=${1:?usage: benches/pathway.sh FEED.jsonl [CSV]}
CSV=${2:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TOOLS=${ODDSFLOW_TOOLS:-$HOME/.cache/oddsflow-tools}
VENV=$TOOLS/pathway-venv
ODDSFLOW=${ODDSFLOW:-${CARGO_TARGET_DIR:-$ROOT/target}/release/oddsflow}
PERCENTILE=${PATHWAY_CHECK_PERCENTILE:-70}
THREADS_LIST=${PATHWAY_THREADS_LIST:-1 2}
STREAM_THREADS_LIST=${PATHWAY_STREAM_THREADS_LIST:-1 2}
STREAM=${PATHWAY_STREAM:-1}
LATENCY=${PATHWAY_LATENCY:-1}
LAT_RATES=${PATHWAY_LATENCY_RATES:-1000,2000}
LAT_SECONDS=${PATHWAY_LATENCY_SECONDS:-20}
LAT_THREADS_LIST=${PATHWAY_LATENCY_THREADS_LIST:-1 2}
LAT_COMMIT_MS_LIST=${PATHWAY_LATENCY_COMMIT_MS_LIST:-1 5}
LAT_CSV=${PATHWAY_LATENCY_CSV:-$ROOT/benches/results/pathway_latency.csv}
LAT_OURS=${PATHWAY_LATENCY_OURS:-$ROOT/benches/results/latency_low_rates.csv}

[ -f "$FEED" ] || { echo "no feed at $FEED" >&2; exit 2; }
[ -x "$ODDSFLOW" ] || { echo "no oddsflow binary at $ODDSFLOW (set ODDSFLOW)" >&2; exit 2; }

started=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# --- the virtualenv -------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    mkdir -p "$TOOLS"
    "${PYTHON:-python3}" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
fi
# A no-op (no network) when the pinned versions are already there.
"$VENV/bin/pip" install -q -r "$HERE/pathway/requirements.txt"
PY=$VENV/bin/python
echo "== pathway $("$PY" -c 'import pathway; print(pathway.__version__)') ready ($(elapsed "$started") s)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/oddsflow-pathway.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Pathway logs every line it cannot parse; keep its log, show the end of it on failure.
pathway_run() { # LOG ARGS...
    local log=$1
    shift
    if ! "$PY" "$HERE/pathway/pipeline.py" "$@" >"$log" 2>&1; then
        tail -30 "$log" >&2
        echo "pipeline.py $* failed" >&2
        exit 1
    fi
}

# --- 1. equality check ----------------------------------------------------------------------
t=$("$PY" "$HERE/pathway/check.py" pick "$FEED" "$PERCENTILE")
echo "== equality check at t = $t (granule of the ${PERCENTILE}th-percentile event time)"
"$PY" "$HERE/pathway/check.py" sample "$FEED" "$t" "$WORK/sample.jsonl"
"$ODDSFLOW" replay "$FEED" --out "$WORK/ours" --policies none --no-progress >"$WORK/replay.log" 2>&1 \
    || { tail -20 "$WORK/replay.log" >&2; exit 1; }
echo "-- Pathway batch mode"
pathway_run "$WORK/check.log" "$WORK/sample.jsonl" --out "$WORK/pathway" --until-ts $((t + 999))
"$PY" "$HERE/pathway/check.py" compare "$WORK/ours" "$WORK/pathway" "$t"
if [ "$STREAM" = 1 ]; then
    echo "-- Pathway stream mode"
    pathway_run "$WORK/check-stream.log" "$WORK/sample.jsonl" --out "$WORK/pathway-stream" \
        --until-ts $((t + 999)) --stream
    "$PY" "$HERE/pathway/check.py" compare "$WORK/ours" "$WORK/pathway-stream" "$t"
fi
echo "== equality check passed ($(elapsed "$started") s so far)"

# --- 2. throughput --------------------------------------------------------------------------
records=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["records_in"])' \
    "$WORK/ours/summary.json")
feed_name=$(basename "$FEED")
declare -a rows=()
declare -A rate=()

timed() { # SYSTEM MODE WORKERS COMMAND...
    local system=$1 mode=$2 workers=$3
    shift 3
    local t0 t1 seconds per_s load
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(date +%s.%N)
    "$@" >"$WORK/timed.log" 2>&1 || { tail -30 "$WORK/timed.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    per_s=$(awk -v n="$records" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
    rate["$system $mode $workers"]=$per_s
    rows+=("$system,$mode,$workers,$feed_name,$records,$seconds,$per_s,$load")
    printf '%-9s %-7s %s worker(s): %9s records in %8s s = %8s records/s  (load avg before: %s)\n' \
        "$system" "$mode" "$workers" "$records" "$seconds" "$per_s" "$load"
}

echo "== throughput on $FEED ($records records, outputs discarded; $(nproc) cores)"
for w in 1 2; do
    timed oddsflow replay "$w" "$ODDSFLOW" replay "$FEED" --out "$WORK/replay-$w" \
        --policies none --discard-outputs --no-progress -w "$w"
done
for n in $THREADS_LIST; do
    timed pathway batch "$n" env PATHWAY_THREADS="$n" \
        "$PY" "$HERE/pathway/pipeline.py" "$FEED" --out "$WORK/pw-batch" --discard-outputs
done
if [ "$STREAM" = 1 ]; then
    for n in $STREAM_THREADS_LIST; do
        timed pathway stream "$n" env PATHWAY_THREADS="$n" \
            "$PY" "$HERE/pathway/pipeline.py" "$FEED" --out "$WORK/pw-stream" --stream \
            --discard-outputs
    done
fi

echo "== oddsflow records/s ÷ Pathway records/s"
for key in "${!rate[@]}"; do
    case $key in pathway*) ;; *) continue ;; esac
    for w in 1 2; do
        awk -v o="${rate[oddsflow replay $w]}" -v p="${rate[$key]}" -v k="$key" -v w="$w" \
            'BEGIN { printf "oddsflow -w %s / %-20s = %6.1f\n", w, k " thread(s)", o / p }'
    done
done | sort

if [ -n "$CSV" ]; then
    mkdir -p "$(dirname "$CSV")"
    [ -s "$CSV" ] || echo "system,mode,workers,feed,records,seconds,records_per_s,load_avg" >"$CSV"
    printf '%s\n' "${rows[@]}" >>"$CSV"
    echo "== appended ${#rows[@]} rows to $CSV"
fi

# --- 3. open-loop latency -------------------------------------------------------------------
if [ "$LATENCY" = 1 ]; then
    echo "== open-loop latency at $LAT_RATES records/s, $LAT_SECONDS s each"
    # latency.rs's feed: simulate(matches 300, seed 1, typical noise).
    "$ODDSFLOW" simulate --matches 300 --seed 1 --noise typical --out "$WORK/latency-feed.jsonl" \
        --truth "$WORK/latency-truth.jsonl" >"$WORK/simulate.log" 2>&1 \
        || { tail -20 "$WORK/simulate.log" >&2; exit 1; }
    rm -f "$WORK/latency-truth.jsonl"
    lat_rows=()
    for n in $LAT_THREADS_LIST; do
        for c in $LAT_COMMIT_MS_LIST; do
            for r in ${LAT_RATES//,/ }; do
                if ! row=$(PATHWAY_THREADS=$n "$PY" "$HERE/pathway/latency.py" \
                    "$WORK/latency-feed.jsonl" --rate "$r" --seconds "$LAT_SECONDS" \
                    --commit-ms "$c" 2>"$WORK/latency.log"); then
                    tail -30 "$WORK/latency.log" >&2
                    echo "latency.py failed" >&2
                    exit 1
                fi
                grep '^pathway ' "$WORK/latency.log" || true
                echo "$row"
                lat_rows+=("$row")
            done
        done
    done
    mkdir -p "$(dirname "$LAT_CSV")"
    {
        echo "system,workers,rate,records,p50_ms,p99_ms,p999_ms,max_ms,commit_ms,load_avg"
        printf '%s\n' "${lat_rows[@]}"
    } >"$LAT_CSV"
    echo "== wrote ${#lat_rows[@]} rows to $LAT_CSV"
    if [ -s "$LAT_OURS" ]; then
        echo "== Pathway latency ÷ oddsflow latency (oddsflow's from $LAT_OURS)"
        printf '%s\n' "${lat_rows[@]}" | awk -F, '
            NR == FNR { if (FNR > 1) { p50[$1 "," $2] = $4; p99[$1 "," $2] = $5 }; next }
            { k = $3 "," $2
              if (k in p50) printf "rate %5s, %s worker(s), commit %2s ms: p50 %7.1f ms / %6.2f ms = %6.1f   p99 %7.1f ms / %6.2f ms = %6.1f\n", $3, $2, $9, $5, p50[k] / 1000, $5 * 1000 / p50[k], $6, p99[k] / 1000, $6 * 1000 / p99[k]
              else printf "rate %5s, %s worker(s): no oddsflow row\n", $3, $2 }
        ' "$LAT_OURS" -
    fi
fi
echo "== done in $(elapsed "$started") s"
