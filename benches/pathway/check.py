#!/usr/bin/env python3
"""The equality check of the Pathway baseline against oddsflow's replay (used by `../pathway.sh`).

    python check.py pick FEED [PERCENTILE]         # prints t: the granule of that percentile
                                                   # of the feed's event times (default 50)
    python check.py sample FEED t OUT              # the records oddsflow holds at time t
    python check.py compare OURS_DIR PATHWAY_DIR t # state as of t, row by row

`sample` applies oddsflow's replay time rule (`src/replay.rs`): a record is sent at its event time
rounded down to 1000 ms, or at the input frontier (feed clock - 30 s lateness, rounded) when that
is later (a *late* record). It writes the lines sent at a time <= t, in feed order, and says how
many records with `ts <= t + 999` it left out because they were late past t (Pathway, which has
no lateness, would otherwise see them at their own time). Simulated feeds have none.

`compare` consolidates oddsflow's change tables (`team_match_stats`, `dominance`,
`availability`.parquet: rows of data, time, diff) over `time <= t` — the state as of t — and
compares them with Pathway's CSV outputs for the same t (consolidated by their `diff` too), as
sets of rows (a consolidated multiplicity other than 0 or 1 is a failure too). Markets and selections are compared as parsed JSON (oddsflow writes
`match_odds` and `{"score":{"away":0,"home":1}}`, Pathway the JSON text as read,
`"match_odds"` and `{"score":{"home":1,"away":0}}`); every other field, floats included, must be
equal exactly. Then, when Pathway wrote `dominance_history.csv`, every dominance row oddsflow
inserted at a time <= t (its history, not just its state at t) is checked against the value
Pathway's history holds at that time. Exits 1 on any difference, printing examples.
"""

from __future__ import annotations

import collections
import csv
import json
import os
import re
import sys

GRANULE = 1000
LATENESS = 30_000
RETIRE_AFTER = 3_600_000

TS_PREFIX = re.compile(r'^\s*\{"ts":\s*(-?\d+)\s*[,}]')


def peek_ts(line: str):
    """`wire.rs::peek_ts`: the event time of a line, or None (negative times count as None)."""
    m = TS_PREFIX.match(line)
    ts = None
    if m:
        ts = int(m.group(1))
    else:
        try:
            v = json.loads(line).get("ts")
            if isinstance(v, int) and not isinstance(v, bool):
                ts = v
        except Exception:
            ts = None
    return ts if ts is not None and ts >= 0 else None


def rounded(ts: int) -> int:
    return ts // GRANULE * GRANULE


def pick(feed: str, percentile: float = 50.0) -> int:
    with open(feed, encoding="utf-8", errors="replace") as f:
        ts = sorted(t for t in map(peek_ts, f) if t is not None)
    return rounded(ts[min(len(ts) - 1, int(len(ts) * percentile / 100))])


def sample(feed: str, t: int, out: str) -> None:
    clock = None
    frontier = 0
    kept = late_kept = late_cut = 0
    settled: dict[int, int] = {}  # match -> time of its first result / abandonment
    with open(feed, encoding="utf-8", errors="replace") as f, open(out, "w", encoding="utf-8") as o:
        for line in f:
            ts = peek_ts(line)
            if ts is not None and rounded(ts) >= frontier:
                time, late = rounded(ts), False
            else:
                time, late = frontier, ts is not None
            if time <= t:
                o.write(line)
                kept += 1
                late_kept += late
                if '"kind":"result"' in line or '"kind":"abandonment"' in line:
                    try:
                        r = json.loads(line)
                        settled.setdefault(r["match"], time)
                    except (ValueError, KeyError, TypeError):
                        pass
            elif late and ts <= t + GRANULE - 1:
                late_cut += 1
            if ts is not None and (clock is None or ts > clock):
                clock = ts
                frontier = max(frontier, rounded(ts - LATENESS))
    retired = sum(1 for s in settled.values() if s + RETIRE_AFTER <= t)
    print(
        f"sample: {kept} lines sent at time <= {t} ({late_kept} of them late); "
        f"{late_cut} late records with ts <= t + 999 left out; "
        f"{len(settled)} matches settled by t, {retired} of them retired (settled >= 1 h before t)"
    )


def canon_json(s: str) -> str:
    """A market or selection, whichever way it is written, as canonical JSON."""
    try:
        v = json.loads(s)
    except ValueError:
        v = s  # oddsflow writes unit variants bare: match_odds

    def norm(x):
        if isinstance(x, dict):
            return {k: norm(x[k]) for k in sorted(x)}
        if isinstance(x, bool) or x is None or isinstance(x, str):
            return x
        if isinstance(x, (int, float)):
            return float(x) if isinstance(x, float) or abs(x) < 2**53 else x
        return x

    return json.dumps(norm(v), sort_keys=True, separators=(",", ":"))


TABLES = {
    # name: (oddsflow parquet, pathway csv, key columns, value columns)
    "team_match": (
        "team_match_stats",
        "team_match",
        ["match", "side"],
        ["goals", "corners", "yellow", "red", "shots", "shots_on_target", "xg_milli", "fouls"],
    ),
    "dominance": (
        "dominance",
        "dominance",
        ["match", "window_ms"],
        ["home_pressure", "away_pressure", "index"],
    ),
    "available": (
        "availability",
        "available",
        ["match", "market", "selection"],
        ["phase", "price"],
    ),
}
INT_COLS = {
    "match", "window_ms", "goals", "corners", "yellow", "red", "shots", "shots_on_target",
    "xg_milli", "fouls",
}
FLOAT_COLS = {"home_pressure", "away_pressure", "index", "price"}
JSON_COLS = {"market", "selection"}


def typed(col: str, v):
    if col in INT_COLS:
        return int(v)
    if col in FLOAT_COLS:
        return float(v)
    if col in JSON_COLS:
        return canon_json(str(v))
    return str(v)


def ours_as_of(path: str, cols: list[str], t: int) -> collections.Counter:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    table = table.filter(pc.less_equal(table["time"], t))
    data = {c: table[c].to_pylist() for c in cols + ["diff"]}
    out: collections.Counter = collections.Counter()
    for i in range(table.num_rows):
        out[tuple(typed(c, data[c][i]) for c in cols)] += data["diff"][i]
    return out


def pathway_rows(path: str, cols: list[str]) -> collections.Counter:
    out: collections.Counter = collections.Counter()
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out[tuple(typed(c, row[c]) for c in cols)] += int(row["diff"])
    return out


def compare(ours_dir: str, pw_dir: str, t: int) -> int:
    failed = False
    for name, (ours_file, pw_file, keys, values) in TABLES.items():
        cols = keys + values
        ours = ours_as_of(f"{ours_dir}/{ours_file}.parquet", cols, t)
        theirs = pathway_rows(f"{pw_dir}/{pw_file}.csv", cols)
        bad = [r for r, n in list(ours.items()) + list(theirs.items()) if n not in (0, 1)]
        ours = {r for r, n in ours.items() if n == 1}
        theirs = {r for r, n in theirs.items() if n == 1}
        only_ours = sorted(ours - theirs)
        only_pw = sorted(theirs - ours)
        matches = len({r[0] for r in ours | theirs})
        status = "OK" if not (only_ours or only_pw or bad) else "MISMATCH"
        print(
            f"{name:<11} {status}: oddsflow {len(ours)} rows, Pathway {len(theirs)} rows, "
            f"{len(ours & theirs)} equal, {matches} matches; "
            f"only in oddsflow {len(only_ours)}, only in Pathway {len(only_pw)}"
        )
        if status != "OK":
            failed = True
            if bad:
                print(f"  rows with a multiplicity other than 0 or 1: {bad[:5]}")
            by_key = collections.defaultdict(lambda: [None, None])
            for r in only_ours:
                by_key[r[: len(keys)]][0] = r
            for r in only_pw:
                by_key[r[: len(keys)]][1] = r
            for k, (a, b) in list(by_key.items())[:10]:
                print(f"  {dict(zip(keys, k))}:")
                print(f"    oddsflow {dict(zip(values, a[len(keys):])) if a else None}")
                print(f"    Pathway  {dict(zip(values, b[len(keys):])) if b else None}")
    history = f"{pw_dir}/dominance_history.csv"
    if os.path.exists(history):
        failed |= not compare_history(f"{ours_dir}/dominance.parquet", history, t)
    return 1 if failed else 0


def compare_history(ours_path: str, pw_path: str, t: int) -> bool:
    """Every dominance row oddsflow inserted at a time <= t (its whole dominance history up to t,
    live matches only, retired ones included) against Pathway's history: the window's value at
    the last time <= that time at which it changed (zeros if it never had)."""
    import bisect

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    cols = ["home_pressure", "away_pressure", "index"]
    changes: collections.Counter = collections.Counter()
    with open(pw_path, newline="") as f:
        for row in csv.DictReader(f):
            key = (int(row["match"]), int(row["window_ms"]), int(row["tau"]))
            changes[key + tuple(float(row[c]) for c in cols)] += int(row["diff"])
    by_window = collections.defaultdict(list)
    for (m, w, tau, *v), n in changes.items():
        if n == 1:
            by_window[(m, w)].append((tau, tuple(v)))
    for v in by_window.values():
        v.sort()
    times = {k: [tau for tau, _ in v] for k, v in by_window.items()}
    table = pq.read_table(ours_path)
    table = table.filter(
        pc.and_(pc.less_equal(table["time"], t), pc.equal(table["diff"], 1))
    )
    data = {c: table[c].to_pylist() for c in ["match", "window_ms", "time"] + cols}
    checked, bad = 0, []
    for i in range(table.num_rows):
        key = (data["match"][i], data["window_ms"][i])
        j = bisect.bisect_right(times.get(key, []), data["time"][i]) - 1
        theirs = by_window[key][j][1] if j >= 0 else (0.0, 0.0, 0.0)
        ours = tuple(float(data[c][i]) for c in cols)
        checked += 1
        if ours != theirs:
            bad.append((key, data["time"][i], ours, theirs))
    status = "OK" if not bad else "MISMATCH"
    print(
        f"dominance history {status}: {checked} rows oddsflow inserted at times <= t "
        f"({len({k for k in zip(data['match'], data['window_ms'])})} match windows) against "
        f"Pathway's {sum(len(v) for v in by_window.values())} change rows; {len(bad)} differ"
    )
    for key, time, ours, theirs in bad[:10]:
        print(f"  {key} at {time}: oddsflow {ours}, Pathway {theirs}")
    return not bad


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "pick":
        print(pick(argv[1], float(argv[2]) if len(argv) > 2 else 50.0))
        return 0
    if len(argv) >= 4 and argv[0] == "sample":
        sample(argv[1], int(argv[2]), argv[3])
        return 0
    if len(argv) >= 4 and argv[0] == "compare":
        return compare(argv[1], argv[2], int(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
