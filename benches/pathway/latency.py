#!/usr/bin/env python3
"""Open-loop latency of the Pathway pipeline, measured as `benches/latency.rs` measures oddsflow's.

    python latency.py FEED.jsonl [--rate 1000,2000] [--seconds 20] [--commit-ms 1]
                      [--lead-ms 1000] [--csv FILE] [--header]

**Schedule.** The feed's records in file order (the simulator's malformed lines left out, as
`latency.rs` leaves out its `Payload::Line` items; the feed repeats with match ids + 10,000,000
per lap when it is shorter), `rate * seconds` of them. Record `i` is due `i / rate` seconds after
the start, and its `ts` is re-timed to that schedule: `T0 + floor(due_ms)` (1 ms event times, no
lateness), the same JSON lines `latency.rs` builds. The pipeline is `pipeline.build` at a 1 ms
granularity (`latency.rs` runs oddsflow with `granularity_ms: 1`), reading from the connector
below instead of a file; its outputs (team match stats, available quotes, dominance history) go
to null sinks.

**Offering (open loop).** A Python connector thread (`pw.io.python`, no autocommit) wakes at each
record's due time and at every boundary of a `--commit-ms` granule of the schedule (1 ms). It
hands every record that is due to Pathway (`json.loads` of the line, then `_add_inner`, as
`pipeline.py --stream` does: in Pathway 0.33 the Python connector's messages are dicts), however
late it is, and it commits each granule once the clock has left it: the records of schedule ms
`m` are committed at `m + 1` ms or as soon after as the thread gets there, as `latency.rs`
downgrades its input to the current millisecond after giving the due records, so a record's
outputs can be complete no earlier than the end of its millisecond in both. A granule without
records gets an empty commit (it advances Pathway's time all the same).

**Pathway times and commits (0.33).** Pathway's time is not the commit number. When the engine
handles a commit it advances the input session to a new time, the wall clock in ms rounded to an
even number, or the previous time + 2 if that is not later (observed in 0.33: one time per
commit, 2 ms apart at 1 commit/ms, so the times run ahead of the wall clock); the rows handed over
after that commit carry that time, and it closes at the next commit. So the mapping from commits
to times is read, not computed: the first record of every commit carries the commit's number
(`commit_no`), and a subscription sees it arrive with its Pathway time.

**Completion.** That subscription is on a heartbeat table: the marked rows of the input
concatenated with each output filtered to nothing (`match < 0`). The heartbeat changes at every
commit's time (its mark), and its frontier is the minimum of the input's and every output's,
so Pathway calls its `on_time_end(T)` once every output is complete through `T` (Pathway calls
`on_time_end` only for times at which the subscribed table changed, hence the marks). At that
call (engine thread, `time.perf_counter()`), every commit whose mark has a time `<= T` is
complete, and each of its records gets latency = now - its scheduled time.

Printed (stdout), one row per rate:
`system,workers,rate,records,p50_ms,p99_ms,p999_ms,max_ms,commit_ms,load_avg` (`workers` =
PATHWAY_THREADS; quantiles as HdrHistogram's `value_at_quantile`, on exact values; `load_avg`:
the 1-minute load average before the run, where other work on the machine shows);
on stderr, how late the connector thread offered records and how many commits and Pathway times
there were. With several rates, each runs in its own process (one `pw.run` per process).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

import pathway as pw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipeline  # noqa: E402

# `latency.rs`'s schedule origin in event time, and its match-id offset per lap of the feed.
T0 = 1_767_225_600_000
LAP_MATCH_OFFSET = 10_000_000
# The simulator's malformed lines (`sim/noise.rs`), which `latency.rs` leaves out: the ones that
# are still JSON objects carry this version, an unknown kind or a match without a fixture.
BAD_VERSION = 1_000_000
UNKNOWN_MATCH_BASE = 9_000_000_000
_now = time.perf_counter
HEADER = "system,workers,rate,records,p50_ms,p99_ms,p999_ms,max_ms,commit_ms,load_avg"


class LatencySchema(pipeline.FeedSchema):
    commit_no: int = pw.column_definition(default_value=-1)


def load_records(path: str, n: int) -> list[dict]:
    """Up to `n` records of the feed, in file order, without the malformed lines."""
    out = []
    with open(path, "rb") as f:
        for line in f:
            try:
                d = json.loads(line)
            except ValueError:
                continue  # truncated or not JSON
            if (
                not isinstance(d, dict)
                or not isinstance(d.get("ts"), int)
                or not isinstance(d.get("match"), int)
                or d.get("kind") == "weather"
                or d.get("version") == BAD_VERSION
                or d["match"] >= UNKNOWN_MATCH_BASE
            ):
                continue
            out.append(d)
            if len(out) >= n:
                break
    if not out:
        raise SystemExit(f"no records in {path}")
    return out


def schedule(records: list[dict], rate: int, n: int) -> tuple[list[int], list[str]]:
    """Due times (µs after the start) and re-timed JSON lines, as `latency.rs::scheduled_lines`."""
    due_us, lines = [], []
    for i in range(n):
        r = dict(records[i % len(records)])
        r["match"] += (i // len(records)) * LAP_MATCH_OFFSET
        due = i * 1_000_000 // rate
        r["ts"] = T0 + due // 1000
        due_us.append(due)
        lines.append(json.dumps(r, separators=(",", ":")))
    return due_us, lines


class Run:
    """What the connector thread and the subscription share."""

    def __init__(self, n: int):
        self.start = None  # perf_counter() of the schedule's origin
        self.commit_first: list[int] = []  # commit_no -> first record index
        self.commit_end: list[int] = []  # commit_no -> one past its last record
        self.offer_lag_us = [0.0] * n  # how late each record was handed to Pathway
        self.latency_us: list[float | None] = [None] * n  # by record index
        self.pending: list[tuple[int, int]] = []  # (Pathway time, commit_no), not yet complete
        self.last_time_end = -1
        self.times = set()
        self.late_marks = 0  # marks seen after their time had ended (none expected)
        self.commits = 0


class OpenLoop(pw.io.python.ConnectorSubject):
    def __init__(self, due_us: list[int], lines: list[str], commit_ms: int, lead_s: float, run: Run):
        super().__init__()
        self.due_us = due_us
        self.lines = lines
        self.granule_us = commit_ms * 1000
        self.lead_s = lead_s
        self.state = run

    def run(self) -> None:
        st, due_us, lines, gus = self.state, self.due_us, self.lines, self.granule_us
        n = len(lines)
        clock = time.perf_counter
        start = clock() + self.lead_s
        st.start = start
        while clock() < start:
            time.sleep(max(0.0, start - clock()))
        i = 0
        open_granule = None  # the granule of the records handed over since the last commit
        committed_granule = -1  # the last granule closed by a commit
        first = None  # the first record since the last commit

        def commit(granule):
            nonlocal open_granule, first, committed_granule
            if first is not None:
                st.commit_end.append(i)
            self.commit()
            st.commits += 1
            open_granule, first, committed_granule = None, None, granule

        while i < n or open_granule is not None:
            now_us = (clock() - start) * 1e6
            while i < n and due_us[i] <= now_us:
                g = due_us[i] // gus
                if open_granule is not None and g != open_granule:
                    commit(open_granule)
                values = json.loads(lines[i])
                if "id" in values:
                    values["incident_id"] = values.pop("id")
                if first is None:
                    first = i
                    open_granule = g
                    values["commit_no"] = len(st.commit_first)
                    st.commit_first.append(i)
                self._add_inner(None, values)
                st.offer_lag_us[i] = (clock() - start) * 1e6 - due_us[i]
                i += 1
            now_g = int((clock() - start) * 1e6 // gus)
            # Close the granules the clock has left (empty ones too: that advances Pathway's
            # time, which closes the time of the last commit).
            if open_granule is not None and now_g > open_granule:
                commit(open_granule)
            elif open_granule is None and now_g - 1 > committed_granule and i < n:
                commit(now_g - 1)
            # Sleep to the next due record or the next granule boundary.
            wake_us = (now_g + 1) * gus
            if i < n:
                wake_us = min(wake_us, due_us[i])
            delay = wake_us / 1e6 - (clock() - start)
            if delay > 0:
                time.sleep(delay)


def subscribe_completion(outputs: dict, raw: pw.Table, run: Run, due_us: list[int]) -> None:
    marks = raw.filter(pw.this.commit_no >= 0).select(c=pw.this.commit_no)
    parts = [marks] + [
        t.filter(pw.this.match < 0).select(c=pw.this.match) for t in outputs.values()
    ]
    beat = pw.Table.concat_reindex(*parts)

    def complete(commit_no: int, now: float) -> None:
        now_us = (now - run.start) * 1e6
        for i in range(run.commit_first[commit_no], run.commit_end[commit_no]):
            run.latency_us[i] = now_us - due_us[i]

    def on_change(key, row, time, is_addition):
        if not is_addition:
            return
        run.times.add(time)
        if time <= run.last_time_end:
            run.late_marks += 1
            complete(row["c"], _now())
        else:
            run.pending.append((time, row["c"]))

    def on_time_end(time):
        now = _now()
        run.last_time_end = max(run.last_time_end, time)
        keep = []
        for t, c in run.pending:
            if t <= time:
                complete(c, now)
            else:
                keep.append((t, c))
        run.pending = keep

    pw.io.subscribe(beat, on_change, on_time_end=on_time_end, name="latency-heartbeat")



def quantile(sorted_values: list[float], q: float) -> float:
    """HdrHistogram's `value_at_quantile` on exact values: the smallest value with at least
    `q` of the values at or below it."""
    k = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[k - 1]


def measure(args, rate: int) -> str:
    n = int(rate * args.seconds)
    records = load_records(args.feed, n)
    due_us, lines = schedule(records, rate, n)
    del records
    run = Run(n)
    load = os.getloadavg()[0]
    raw = pw.io.python.read(
        OpenLoop(due_us, lines, args.commit_ms, args.lead_ms / 1000, run),
        schema=LatencySchema,
        autocommit_duration_ms=None,
        name="open-loop",
    )
    outputs = pipeline.build(None, None, granule_ms=1, raw=raw)
    for table in outputs.values():
        pw.io.null.write(table)
    subscribe_completion(outputs, raw, run, due_us)
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)

    missing = sum(1 for v in run.latency_us if v is None)
    if missing:
        raise SystemExit(f"{missing} of {n} records never completed ({len(run.pending)} pending)")
    lat = sorted(run.latency_us)
    # Whether it keeps up: the median latency of each tenth of the schedule.
    tenths = [
        quantile(sorted(run.latency_us[k * n // 10 : (k + 1) * n // 10]), 0.5) / 1000
        for k in range(10)
    ]
    workers = int(os.environ.get("PATHWAY_THREADS", "1"))
    ms = [quantile(lat, q) / 1000 for q in (0.5, 0.99, 0.999)] + [lat[-1] / 1000]
    lag = sorted(run.offer_lag_us)
    print(
        f"pathway {workers} thread(s) at {rate}/s: {n} records, {run.commits} commits, "
        f"{len(run.times)} Pathway times; offered late by p50 {quantile(lag, 0.5) / 1000:.2f} "
        f"p99 {quantile(lag, 0.99) / 1000:.2f} max {lag[-1] / 1000:.2f} ms"
        + (f"; {run.late_marks} marks after their time ended" if run.late_marks else "")
        + "; p50 by tenth of the run (ms): " + " ".join(f"{v:.1f}" for v in tenths),
        file=sys.stderr,
    )
    return (
        f"pathway,{workers},{rate},{n},"
        + ",".join(f"{v:.3f}" for v in ms)
        + f",{args.commit_ms},{load:.2f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("feed", help="feed as JSON lines (`oddsflow simulate`)")
    ap.add_argument("--rate", default="1000,2000", help="records/s, comma-separated")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the schedule")
    ap.add_argument("--commit-ms", type=int, default=1, help="commit granule of the schedule")
    ap.add_argument("--lead-ms", type=float, default=1000.0,
                    help="from the connector's start to the schedule's origin")
    ap.add_argument("--csv", help="append the rows to this CSV (header written if empty)")
    ap.add_argument("--header", action="store_true", help="print the CSV header first")
    args = ap.parse_args()
    rates = [int(r) for r in args.rate.split(",") if r.strip()]

    if args.header:
        print(HEADER, flush=True)
    if len(rates) > 1:
        # One pw.run per process: each rate in its own.
        rows = []
        for r in rates:
            cmd = [sys.executable, os.path.abspath(__file__), args.feed, "--rate", str(r),
                   "--seconds", str(args.seconds), "--commit-ms", str(args.commit_ms),
                   "--lead-ms", str(args.lead_ms)]
            out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
            rows += [line for line in out.splitlines() if line.startswith("pathway,")]
    else:
        rows = [measure(args, rates[0])]
    for row in rows:
        print(row, flush=True)
    if args.csv:
        fresh = not os.path.exists(args.csv) or os.path.getsize(args.csv) == 0
        with open(args.csv, "a") as f:
            if fresh:
                f.write(HEADER + "\n")
            for row in rows:
                f.write(row + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
