#!/usr/bin/env bash
# Crash trials with reclocking (issue 18, part 7): `oddsflow run` on a one-partition topic of
# librdkafka's mock cluster, lateness 0, a noisy simulated feed (reordered records arrive late
# and are sent at the capability of their moment: a time only the changelog knows). Each trial
# SIGKILLs the run right after a durable frame (`ODDSFLOW_CRASH_AT=durable:K`, fsynced, offsets
# not committed), right after the offset commit (`committed:K`), and at one or two random
# times, restarting it each time; every restart checks the outputs it rebuilt before its
# durable point against the changelog (a difference stops it with an error, which fails the
# trial); the final outputs must equal `replay_assigned`, an offline replay at the changelog's
# time assignment. The suite runs the same test with 3 trials.
#
# Usage: benches/crash_trials.sh [TRIALS] [SEED]     (default 20 trials, seed 29)
# Prints one line per trial and the totals: trials, kills, final runs resumed from durable
# results, equalities checked.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oddsflow-target}"
export ODDSFLOW_CRASH_TRIALS="${1:-20}"
export ODDSFLOW_CRASH_SEED="${2:-29}"
start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if cargo test --release --test kafka crash_trials -- --nocapture >"$log" 2>&1; then
  status=0
else
  status=$?
fi
grep -E '^crash trial|^test result|panicked|differ|got:|want:' "$log" || true
echo "elapsed: $(( $(date +%s) - start )) s"
if [ "$status" -ne 0 ]; then
  tail -40 "$log"
fi
exit "$status"
