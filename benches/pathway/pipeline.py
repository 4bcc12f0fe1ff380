#!/usr/bin/env python3
"""oddsflow's team match aggregates, sliding-window dominance and market availability, in Pathway.

The baseline for the benchmarks issue: the same work as oddsflow's dataflows
(`dataflows/src/{ingest,aggregates,dominance,availability,pipeline}.rs`, which are the spec),
written with Pathway's own operators — its JSON-lines reader, filters and expressions (JSON
accessors included), groupby / reduce (`argmax` for last-version-wins), joins, `flatten`, and its
temporal operators (`interval_join`, or `windowby` with sliding windows) — so that what is timed
is Pathway's engine doing the work. No Python UDF touches a record.

    python pipeline.py FEED.jsonl --out DIR [--until-ts T] [--stream] [--discard-outputs]
                       [--dominance interval|windowby] [--stats FILE]

**Batch (default).** Reads the whole feed in Pathway's static mode (one batch).
**Stream (`--stream`).** The feed goes through Pathway's Python connector with one commit per
1000 ms granule of event time, so that every output is maintained incrementally, granule by
granule, as oddsflow's replay maintains its collections.

Outputs, in DIR (Pathway's CSV writer: the data columns, then `time` and `diff`; a stream's
changes consolidate to the final state):

* `team_match.csv`, `available.csv`: the state as of `T'`, the granule of `--until-ts T` (only
  records with `ts <= T` are read) or, without it, of the last valid record;
* `dominance_history.csv`: every match's windows `(match, window_ms, tau, ...)` at every time
  `tau` they change, retired matches included — the work oddsflow's dominance collection does
  over the feed, and most of the work here;
* `dominance.csv` (only with `--until-ts`): the dominance of the live matches at `T'`.

`--discard-outputs` sends the outputs to Pathway's null sink (for timing; oddsflow's
`replay --discard-outputs` drops its outputs too). `--stats` writes the time `pw.run()` took.

Semantics replicated (granularity 1000 ms, retirement 1 h, dominance windows 5 and 10 min):

* **Parse + validate.** Lines that are not JSON, lack `ts`/`match`/`kind` or have a field of the
  wrong JSON type are dropped by the reader (Pathway logs them as parse errors); unknown kinds are
  dropped; then the value checks of `reject.rs::validate`: `ts >= 0`, `version >= 1`, odds price
  finite and > 1.0 (a string price is parsed as a number, as serde's `F64` does, so "NaN" is
  rejected), status and incident clocks >= 0, possession share <= 100, xG in [0, 1], a fixture's
  teams differ and its kick-off >= 0, a market lists at least one selection; plus the structural
  checks serde makes on the fields used here (enum names of kinds, statuses, phases, sides, cards,
  incident details, markets and selections; lines multiples of 0.25; required fields present).
* **RequireFixture.** A record passes only if a valid fixture of its match has a granule <= its
  own (`ts` rounded down to 1000 ms).
* **UpsertByVersion.** Keyed state `(match, kind, sub-key)` keeps the record with the highest
  `(version, ts)`: duplicates and stale versions change nothing, and a same-version re-send with
  a later `ts` replaces the event time (as oddsflow's upsert, whose value is `(body, ts)`).
* **Retirement.** A match is settled at the granule of its first valid result or abandonment; at
  that granule + 1 h its per-match state is gone, so matches with `settled + 3,600,000 <= T` have
  no rows here.
* **Team match stats** per (match, side): rows for every match with a status and every side with a
  non-cancelled incident; goals, corners, yellow (yellow + second yellow), red (second yellow +
  red), shots, shots on target, xG in thousandths (rounded), fouls.
* **Dominance** per (live match, window): the pressure events (non-cancelled attack, dangerous
  attack, shot, corner, possession) whose record `ts` lies in `[T' - w + 1, T' + 999]`, with `T'`
  the granule of `T` — oddsflow's window at time `T'` (an event enters at its granule and leaves
  at `round_up(ts + w, 1000)`); zeros for a live match without events. Pressure and index are the
  same float expressions as `dominance.rs::dominance_of`. Two ways to compute the history:
  - `interval` (default): the window's value at every time it changes (each event's granule and
    its expiry): an `interval_join_left` of those times with the events
    (`tau - w + 1 <= ts <= tau + 999`), summed per `(match, tau)`. The value at `T'` is the one
    at the last change `<= T'` (the window is constant in between). Each change once, as in
    oddsflow's dominance collection.
  - `windowby`: `windowby(sliding(hop=1000, duration=w + 999, origin=1))`, every 1 s window of
    every match that holds an event; the value at `T'` is the window ending there. The literal
    Pathway idiom, but it copies each event into about `w / 1000` windows (900 copies for 5 +
    10 min): on half of a 100-match feed it took 4 minutes and 15 GB, and the whole feed does
    not fit in 24 GB, so it is not the default.
* **Availability**: selections of open markets (current version) that have a price, phase from
  the market and price from the odds, minus abandoned matches.

Known differences (documented, none of them met by simulated feeds):

* Market and selection keys are the field's JSON value printed back (`{"over_under":{"line":2.5}}`),
  not the parsed enum, so a feed writing the same line as `1` in one record and `1.0` in another,
  or an object's keys in another order, would not join here; oddsflow parses both to the same
  `MarketKind` / `Selection`.
* Same-version conflicts between *different bodies* of one key are resolved by the later `ts`
  here, by the derived `Ord` of the body in oddsflow.
* Not re-checked here: a market listing a selection twice; the types of nested fields these
  outputs never read (player ids in goals, cards, shots and fouls; lineup players; fixture team
  names); a JSON `NaN` literal or a duplicate key (Pathway's JSON parser and Python's may accept
  what serde refuses).
* No bounded lateness: a record that oddsflow's replay would apply late (its `ts` more than 30 s
  behind the feed clock) is applied at its own granule here. The equality check leaves such
  records out around its cut; simulated feeds have none.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import pathway as pw

GRANULE_MS = 1000
RETIRE_AFTER_MS = 3_600_000
WINDOWS_MS = (300_000, 600_000)
SMOOTHING = 10.0
POSSESSION_WEIGHT = 0.2
POINTS = {"attack": 1, "dangerous_attack": 3, "shot_off": 4, "shot_on": 8, "corner": 3}

KINDS = ("fixture", "lineup", "status", "incident", "market", "odds", "result", "abandonment")
MATCH_STATUSES = (
    "scheduled", "first_half", "half_time", "second_half", "finished", "abandoned", "postponed"
)
LIVE_STATUSES = ("first_half", "half_time", "second_half")
MARKET_STATUSES = ("open", "suspended", "closed")
PHASES = ("prematch", "in_play")
SIDES = ("home", "away")
CARDS = ("yellow", "second_yellow", "red")
VAR_DECISIONS = (
    "goal_confirmed", "goal_overturned", "penalty_awarded", "penalty_overturned", "red_card"
)
# Unit variants are JSON strings; their `to_string()` keeps the quotes.
UNIT_MARKETS = ('"match_odds"', '"btts"', '"double_chance"', '"correct_score"')
LINE_MARKETS = ("over_under", "asian_handicap", "corners_over_under")
UNIT_SELECTIONS = (
    '"home"', '"draw"', '"away"', '"over"', '"under"', '"yes"', '"no"', '"home_or_draw"',
    '"draw_or_away"', '"home_or_away"', '"no_goal"', '"any_other"',
)

NULL = pw.Json(None)


class FeedSchema(pw.Schema):
    """The flat JSON-lines record (`dataflows/src/wire.rs`): every kind's fields, all optional
    but the common three. JSON-typed columns hold nested enums as written."""

    ts: int
    match: int
    kind: str
    version: int | None = pw.column_definition(default_value=None)
    # `id` is reserved in Pathway; read through `json_field_paths`.
    incident_id: int | None = pw.column_definition(default_value=None)
    side: str | None = pw.column_definition(default_value=None)
    clock_s: int | None = pw.column_definition(default_value=None)
    detail: pw.Json = pw.column_definition(default_value=NULL)
    cancelled: bool | None = pw.column_definition(default_value=None)
    market: pw.Json = pw.column_definition(default_value=NULL)
    selection: pw.Json = pw.column_definition(default_value=NULL)
    price: pw.Json = pw.column_definition(default_value=NULL)
    status: str | None = pw.column_definition(default_value=None)
    phase: str | None = pw.column_definition(default_value=None)
    selections: pw.Json = pw.column_definition(default_value=NULL)
    kickoff: int | None = pw.column_definition(default_value=None)
    home: pw.Json = pw.column_definition(default_value=NULL)
    away: pw.Json = pw.column_definition(default_value=NULL)
    league: str | None = pw.column_definition(default_value=None)
    season: str | None = pw.column_definition(default_value=None)
    venue: str | None = pw.column_definition(default_value=None)
    referee: str | None = pw.column_definition(default_value=None)
    formation: str | None = pw.column_definition(default_value=None)
    players: pw.Json = pw.column_definition(default_value=NULL)
    half_time: pw.Json = pw.column_definition(default_value=NULL)
    full_time: pw.Json = pw.column_definition(default_value=NULL)
    reason: str | None = pw.column_definition(default_value=None)


def jget(expr, *path):
    """Nested JSON lookup; JSON null where any step is missing (or not an object)."""
    for p in path:
        expr = expr.get(p, NULL)
    return expr


def is_json_null(expr):
    return expr.to_string() == "null"


def in_set(expr, values):
    cond = expr == values[0]
    for v in values[1:]:
        cond = cond | (expr == v)
    return cond


def one_of(*conds):
    out = conds[0]
    for c in conds[1:]:
        out = out | c
    return out


def is_int_json(expr, lo, hi):
    """A JSON integer in [lo, hi] (serde's u8 / u32 parse)."""
    s = expr.to_string()
    v = s.str.parse_int(optional=True)
    return v.is_not_none() & (pw.coalesce(v, lo - 1) >= lo) & (pw.coalesce(v, hi + 1) <= hi)


def is_bool_json(expr):
    s = expr.to_string()
    return (s == "true") | (s == "false")


def json_number(expr):
    """A JSON number, or a JSON string holding one (serde's `F64`); None otherwise."""
    return expr.to_string().str.strip('"').str.parse_float(optional=True)


def valid_market(m):
    """A `MarketKind` as serde reads it: a unit variant, a line market whose line is a multiple
    of 0.25, or `next_goal` with a u8 goal."""
    s = m.to_string()
    conds = [in_set(s, UNIT_MARKETS)]
    for name in LINE_MARKETS:
        line = json_number(jget(m, name, "line"))
        q = pw.coalesce(line, 0.5) * 4.0
        conds.append(
            (~is_json_null(jget(m, name, "line")))
            & ~jget(m, name, "line").to_string().str.startswith('"')
            & (q == q.num.round())
        )
    conds.append(is_int_json(jget(m, "next_goal", "goal"), 0, 255))
    return one_of(*conds)


def valid_selection(sel):
    s = sel.to_string()
    return in_set(s, UNIT_SELECTIONS) | (
        is_int_json(jget(sel, "score", "home"), 0, 255)
        & is_int_json(jget(sel, "score", "away"), 0, 255)
    )


def detail_flags(d):
    """The incident detail's variant, as boolean expressions."""
    s = d.to_string()
    return {
        "attack": s == '"attack"',
        "dangerous_attack": s == '"dangerous_attack"',
        "corner": s == '"corner"',
        "penalty_awarded": s == '"penalty_awarded"',
        "goal": ~is_json_null(jget(d, "goal")),
        "card": ~is_json_null(jget(d, "card")),
        "shot": ~is_json_null(jget(d, "shot")),
        "foul": ~is_json_null(jget(d, "foul")),
        "possession": ~is_json_null(jget(d, "possession")),
        "substitution": ~is_json_null(jget(d, "substitution")),
        "var": ~is_json_null(jget(d, "var")),
    }


def valid_detail(d):
    f = detail_flags(d)
    card = jget(d, "card", "card").to_string()
    xg = jget(d, "shot", "xg")
    xg_v = json_number(xg)
    return one_of(
        f["attack"], f["dangerous_attack"], f["corner"], f["penalty_awarded"],
        f["goal"] & is_bool_json(jget(d, "goal", "own_goal")) & is_bool_json(jget(d, "goal", "penalty")),
        f["card"] & in_set(card, tuple(f'"{c}"' for c in CARDS)),
        f["shot"]
        & is_bool_json(jget(d, "shot", "on_target"))
        & (
            is_json_null(xg)
            | (
                ~xg.to_string().str.startswith('"')
                & (pw.coalesce(xg_v, -1.0) >= 0.0)
                & (pw.coalesce(xg_v, 2.0) <= 1.0)
            )
        ),
        f["foul"],
        # Possession is a u8 (parse) and at most 100 (validation).
        f["possession"] & is_int_json(jget(d, "possession", "share"), 0, 100),
        f["substitution"]
        & is_int_json(jget(d, "substitution", "player_out"), 0, 2**32 - 1)
        & is_int_json(jget(d, "substitution", "player_in"), 0, 2**32 - 1),
        f["var"]
        & in_set(jget(d, "var", "decision").to_string(), tuple(f'"{v}"' for v in VAR_DECISIONS))
        & is_int_json(jget(d, "var", "reviews"), 0, 2**32 - 1),
    )


def validate(raw: pw.Table) -> pw.Table:
    t = pw.this
    kind = t.kind
    price = json_number(t.price)
    common = (t.ts >= 0) & (pw.coalesce(t.version, 0) >= 1) & in_set(kind, KINDS)
    per_kind = one_of(
        (kind == "fixture")
        & (pw.coalesce(t.kickoff, -1) >= 0)
        & is_int_json(jget(t.home, "id"), 0, 2**32 - 1)
        & is_int_json(jget(t.away, "id"), 0, 2**32 - 1)
        & (jget(t.home, "id").to_string() != jget(t.away, "id").to_string())
        & t.league.is_not_none() & t.season.is_not_none()
        & t.venue.is_not_none() & t.referee.is_not_none(),
        (kind == "lineup")
        & in_set(pw.coalesce(t.side, ""), SIDES)
        & t.formation.is_not_none()
        & t.players.to_string().str.startswith("["),
        (kind == "status")
        & in_set(pw.coalesce(t.status, ""), MATCH_STATUSES)
        & (pw.coalesce(t.clock_s, -1) >= 0),
        (kind == "incident")
        & (pw.coalesce(t.incident_id, -1) >= 0)
        & in_set(pw.coalesce(t.side, ""), SIDES)
        & (pw.coalesce(t.clock_s, -1) >= 0)
        & t.cancelled.is_not_none()
        & valid_detail(t.detail),
        (kind == "market")
        & valid_market(t.market)
        & in_set(pw.coalesce(t.status, ""), MARKET_STATUSES)
        & in_set(pw.coalesce(t.phase, ""), PHASES)
        & t.selections.to_string().str.startswith("[")
        & (t.selections.to_string() != "[]"),
        (kind == "odds")
        & valid_market(t.market)
        & valid_selection(t.selection)
        & (pw.coalesce(price, 0.0) > 1.0)
        & (pw.coalesce(price, 0.0) < float("inf")),
        (kind == "result")
        & is_int_json(jget(t.full_time, "home"), 0, 255)
        & is_int_json(jget(t.full_time, "away"), 0, 255)
        & is_int_json(jget(t.half_time, "home"), 0, 255)
        & is_int_json(jget(t.half_time, "away"), 0, 255),
        (kind == "abandonment") & t.reason.is_not_none(),
    )
    return raw.filter(common & per_kind)


class FeedReplay(pw.io.python.ConnectorSubject):
    """`--stream`: the feed as a stream, one Pathway commit per 1000 ms granule of event time
    (as oddsflow's replay gives each granule its own timestamp; a line without a readable `ts`
    goes with the current granule). Pathway 0.33's Python connector decodes each message with
    Python's `json.loads` and hands the engine a dict, so here a line that is not a JSON object
    is dropped in Python (the file reader drops it in Rust), and an incident's top-level `id` is
    renamed (`id` is a reserved column name; the file reader maps it with `json_field_paths`)."""

    def __init__(self, path: str, until_ts: int | None):
        super().__init__()
        self.path = path
        self.until_ts = until_ts

    def run(self) -> None:
        current = None
        with open(self.path, "rb") as f:
            for line in f:
                try:
                    values = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(values, dict):
                    continue
                ts = values.get("ts")
                if isinstance(ts, int) and not isinstance(ts, bool):
                    if self.until_ts is not None and ts > self.until_ts:
                        continue
                    g = ts // GRANULE_MS
                    if current is None or g > current:
                        if current is not None:
                            self.commit()
                        current = g
                if "id" in values:
                    values["incident_id"] = values.pop("id")
                self._add_inner(None, values)
        self.commit()


def read_feed(feed: str, until_ts: int | None, stream: bool) -> pw.Table:
    if stream:
        raw = pw.io.python.read(
            FeedReplay(feed, until_ts), schema=FeedSchema, autocommit_duration_ms=None
        )
    else:
        raw = pw.io.jsonlines.read(
            feed,
            schema=FeedSchema,
            mode="static",
            json_field_paths={"incident_id": "/id"},
        )
    if until_ts is not None:
        raw = raw.filter(pw.this.ts <= until_ts)
    return raw


def build(
    feed: str | None,
    until_ts: int | None,
    dominance_method: str = "interval",
    stream=False,
    *,
    granule_ms: int = GRANULE_MS,
    raw: pw.Table | None = None,
):
    """The dataflow; returns its output tables by name (see the module docs).

    `granule_ms` is the time granularity of the computation (oddsflow's `granularity_ms`; 1000
    here, 1 in `latency.py`, as in `benches/latency.rs`); `raw`, when given, is the feed as a
    table of `FeedSchema` (extra columns are carried along) instead of `feed`."""
    G = granule_ms
    if raw is None:
        raw = read_feed(feed, until_ts, stream)
    valid = validate(raw).with_columns(g=(pw.this.ts // G) * G)

    # The as-of time T': the granule of --until-ts, or of the last valid record.
    if until_ts is not None:
        as_of = (until_ts // G) * G
    else:
        clock = valid.reduce(as_of=pw.reducers.max(pw.this.g))
        as_of = clock.ix_ref().as_of

    # RequireFixture: a fixture at or before the record's granule.
    fixtures = (
        valid.filter(pw.this.kind == "fixture")
        .groupby(pw.this.match)
        .reduce(pw.this.match, known_g=pw.reducers.min(pw.this.g))
    )
    known = valid.join(fixtures, pw.left.match == pw.right.match).select(
        *pw.left, known_g=pw.right.known_g
    )
    known = known.filter(pw.this.g >= pw.this.known_g)

    # UpsertByVersion: one row per key, the highest (version, ts).
    t = pw.this
    keyed = known.with_columns(
        k1=pw.if_else(
            t.kind == "incident",
            t.incident_id.to_string(),
            pw.if_else(
                (t.kind == "market") | (t.kind == "odds"),
                t.market.to_string(),
                pw.if_else(t.kind == "lineup", pw.coalesce(t.side, ""), ""),
            ),
        ),
        k2=pw.if_else(t.kind == "odds", t.selection.to_string(), ""),
    )
    winners = keyed.groupby(t.match, t.kind, t.k1, t.k2).reduce(
        best=pw.reducers.argmax(pw.make_tuple(t.version, t.ts))
    )
    state = keyed.ix(winners.best)

    # Retirement: settled at the first result / abandonment; gone 1 h later.
    settled = (
        known.filter((t.kind == "result") | (t.kind == "abandonment"))
        .groupby(t.match)
        .reduce(t.match, settled_g=pw.reducers.min(t.g))
    )
    retired = settled.filter(pw.this.settled_g + RETIRE_AFTER_MS <= as_of)
    alive = (
        state.join_left(retired, pw.left.match == pw.right.match)
        .select(*pw.left, retired_match=pw.right.match)
        .filter(pw.this.retired_match.is_none())
    )

    outputs = {"team_match": team_match_stats(alive), "available": availability(alive)}
    # The dominance history covers retired matches too (it was computed while they were live;
    # retirement only empties the current state). Without --until-ts (the timed runs) it is the
    # dominance output; with it, the state at T' is written beside it (the equality check reads
    # both).
    history, current = dominance(state, alive, as_of, dominance_method, G)
    if until_ts is None or dominance_method == "interval":
        # (`windowby`'s history has no row where a window is empty: not one to check.)
        outputs["dominance_history"] = history
    if until_ts is not None:
        outputs["dominance"] = current
    return outputs


def team_match_stats(alive: pw.Table) -> pw.Table:
    t = pw.this
    incidents = alive.filter((t.kind == "incident") & (pw.coalesce(t.cancelled, True) == False))  # noqa: E712
    f = detail_flags(t.detail)
    card = jget(t.detail, "card", "card").to_string()
    on_target = jget(t.detail, "shot", "on_target").to_string() == "true"
    xg = json_number(jget(t.detail, "shot", "xg"))
    one = lambda cond: pw.if_else(cond, 1, 0)  # noqa: E731
    rows = incidents.select(
        match=t.match,
        side=pw.unwrap(t.side),
        goals=one(f["goal"]),
        corners=one(f["corner"]),
        yellow=one(f["card"] & ((card == '"yellow"') | (card == '"second_yellow"'))),
        red=one(f["card"] & ((card == '"second_yellow"') | (card == '"red"'))),
        shots=one(f["shot"]),
        shots_on_target=one(f["shot"] & on_target),
        xg_milli=pw.if_else(
            f["shot"], pw.cast(int, (pw.coalesce(xg, 0.0) * 1000.0).num.round()), 0
        ),
        fouls=one(f["foul"]),
    )
    statuses = alive.filter(t.kind == "status")
    zeros = dict(
        goals=0, corners=0, yellow=0, red=0, shots=0, shots_on_target=0, xg_milli=0, fouls=0
    )
    slots = [statuses.select(match=t.match, side=side, **zeros) for side in SIDES]
    all_rows = pw.Table.concat_reindex(rows, *slots)
    return all_rows.groupby(t.match, t.side).reduce(
        t.match,
        t.side,
        **{c: pw.reducers.sum(pw.this[c]) for c in zeros},
    )


SUMS = ("hp", "ap", "hs", "hn", "as_", "an")


def windowby_history(events: pw.Table, w: int, G: int = GRANULE_MS) -> pw.Table:
    """Every 1 s-hop window of every match (`windowby` + `sliding`) that holds an event, as the
    granule `tau` at which oddsflow holds it: the window `[tau - w + 1, tau + 999]`."""
    return events.windowby(
        events.ts,
        window=pw.temporal.sliding(hop=G, duration=w + G - 1, origin=1),
        instance=events.match,
    ).reduce(
        match=pw.this._pw_instance,
        tau=pw.this._pw_window_start + (w - 1),
        **{c: pw.reducers.sum(pw.this[c]) for c in SUMS},
    )


def interval_history(events: pw.Table, w: int, G: int = GRANULE_MS) -> pw.Table:
    """The window's sums at every time it changes (an event's granule, and its expiry
    `round_up(ts + w, 1000)`): an interval join of those times with the events
    (`tau - w + 1 <= ts <= tau + 999`), summed per (match, tau); zeros where a window empties."""
    t = pw.this
    enter = events.select(t.match, tau=(t.ts // G) * G)
    leave = events.select(t.match, tau=((t.ts + w + G - 1) // G) * G)
    times = (
        pw.Table.concat_reindex(enter, leave)
        .groupby(t.match, t.tau)
        .reduce(t.match, t.tau)
    )
    joined = times.interval_join_left(
        events,
        times.tau,
        events.ts,
        pw.temporal.interval(-(w - 1), G - 1),
        times.match == events.match,
    ).select(
        match=pw.left.match,
        tau=pw.left.tau,
        **{c: pw.coalesce(pw.right[c], 0) for c in SUMS},
    )
    return joined.groupby(t.match, t.tau).reduce(
        t.match, t.tau, **{c: pw.reducers.sum(pw.this[c]) for c in SUMS}
    )


def dominance(state: pw.Table, alive: pw.Table, as_of, method: str, G: int = GRANULE_MS):
    """The dominance history (every match's windows at every time they change) and the dominance
    at T' of the live matches."""
    t = pw.this
    f = detail_flags(t.detail)
    on_target = jget(t.detail, "shot", "on_target").to_string() == "true"
    share = jget(t.detail, "possession", "share").to_string().str.parse_int(optional=True)
    events = state.filter(
        (t.kind == "incident")
        & (pw.coalesce(t.cancelled, True) == False)  # noqa: E712
        & one_of(f["attack"], f["dangerous_attack"], f["shot"], f["corner"], f["possession"])
    )
    points = pw.if_else(
        f["attack"], POINTS["attack"],
        pw.if_else(
            f["dangerous_attack"], POINTS["dangerous_attack"],
            pw.if_else(
                f["corner"], POINTS["corner"],
                pw.if_else(
                    f["shot"], pw.if_else(on_target, POINTS["shot_on"], POINTS["shot_off"]), 0
                ),
            ),
        ),
    )
    poss = f["possession"]
    home = t.side == "home"
    events = events.select(
        match=t.match,
        ts=t.ts,
        hp=pw.if_else(home, points, 0),
        ap=pw.if_else(home, 0, points),
        hs=pw.if_else(home & poss, pw.coalesce(share, 0), 0),
        hn=pw.if_else(home & poss, 1, 0),
        as_=pw.if_else(~home & poss, pw.coalesce(share, 0), 0),
        an=pw.if_else(~home & poss, 1, 0),
    )
    live = alive.filter((t.kind == "status") & in_set(pw.coalesce(t.status, ""), LIVE_STATUSES))
    histories, per_width = [], []
    for w in WINDOWS_MS:
        if method == "windowby":
            history = windowby_history(events, w, G)
            # Only windows holding an event exist: take the one at T' exactly.
            current = history.filter(pw.this.tau == as_of)
        else:
            history = interval_history(events, w, G)
            # The window is constant between the times it changes: take the last one <= T'.
            upto = history.filter(pw.this.tau <= as_of)
            last = upto.groupby(pw.this.match).reduce(best=pw.reducers.argmax(pw.this.tau))
            current = upto.ix(last.best)
        histories.append(history.select(*pw.this, window_ms=w))
        per_width.append(
            live.join_left(current, pw.left.match == pw.right.match).select(
                match=pw.left.match,
                window_ms=w,
                **{c: pw.coalesce(pw.right[c], 0) for c in SUMS},
            )
        )
    return (
        with_pressure(pw.Table.concat_reindex(*histories), [t.tau]),
        with_pressure(pw.Table.concat_reindex(*per_width), []),
    )


def with_pressure(rows: pw.Table, extra: list) -> pw.Table:
    """Pressure and index from the window sums, as `dominance.rs::dominance_of` computes them."""
    t = pw.this

    def pressure(points, share_sum, share_n):
        possession = pw.if_else(
            share_n == 0, 0.0, pw.cast(float, share_sum) / pw.cast(float, share_n) - 50.0
        )
        x = pw.cast(float, points) + POSSESSION_WEIGHT * possession
        return pw.if_else(x > 0.0, x, 0.0)

    rows = rows.select(
        t.match,
        t.window_ms,
        *extra,
        home_pressure=pressure(t.hp, t.hs, t.hn),
        away_pressure=pressure(t.ap, t.as_, t.an),
    )
    return rows.select(
        *pw.this,
        index=(t.home_pressure - t.away_pressure)
        / (t.home_pressure + t.away_pressure + SMOOTHING),
    )


def availability(alive: pw.Table) -> pw.Table:
    t = pw.this
    markets = alive.filter((t.kind == "market") & (t.status == "open")).select(
        match=t.match, market=t.market.to_string(), phase=pw.unwrap(t.phase), sel=t.selections
    )
    offered = markets.flatten(pw.this.sel).select(
        t.match, t.market, t.phase, selection=t.sel.to_string()
    )
    prices = alive.filter(t.kind == "odds").select(
        match=t.match,
        market=t.market.to_string(),
        selection=t.selection.to_string(),
        price=pw.unwrap(json_number(t.price)),
    )
    quoted = offered.join(
        prices,
        pw.left.match == pw.right.match,
        pw.left.market == pw.right.market,
        pw.left.selection == pw.right.selection,
    ).select(pw.left.match, pw.left.market, pw.left.selection, pw.left.phase, pw.right.price)
    abandoned = alive.filter(t.kind == "abandonment").select(t.match)
    return (
        quoted.join_left(abandoned, pw.left.match == pw.right.match)
        .select(*pw.left, abandoned_match=pw.right.match)
        .filter(pw.this.abandoned_match.is_none())
        .without(pw.this.abandoned_match)
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("feed", help="feed as JSON lines")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--until-ts", type=int, default=None, help="read only records with ts <= T")
    ap.add_argument("--discard-outputs", action="store_true", help="null sinks (for timing)")
    ap.add_argument(
        "--dominance",
        choices=("interval", "windowby"),
        default="interval",
        help="how the sliding windows are computed (see the module docs)",
    )
    ap.add_argument(
        "--stream",
        action="store_true",
        help="replay the feed as a stream, one commit per 1000 ms of event time (see the docs)",
    )
    ap.add_argument("--stats", help="write {run_s, threads} as JSON here")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    outputs = build(args.feed, args.until_ts, args.dominance, args.stream)
    for name, table in outputs.items():
        if args.discard_outputs:
            pw.io.null.write(table)
        else:
            pw.io.csv.write(table, os.path.join(args.out, f"{name}.csv"))
    started = time.perf_counter()
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)
    run_s = time.perf_counter() - started
    stats = {"run_s": run_s, "threads": int(os.environ.get("PATHWAY_THREADS", "1"))}
    if args.stats:
        with open(args.stats, "w") as f:
            json.dump(stats, f)
    print(json.dumps(stats), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
