//! Ingest: feed items in, keyed state out.
//!
//! ```text
//!  Payload ──Parse+Validate──► Record ──RequireFixture──► Record ──UpsertByVersion──► (RecordKey, Record)
//!     │ (map_fallible)             │ (unknown match)          │ (dup / stale ignored)
//!     └──────────────► dead letters ◄┘                         └──► ignored counts
//! ```
//!
//! A [`Payload`] is what a feed source hands the dataflow: a raw JSON line (parsed here, so that
//! parsing is part of the dataflow and its errors are data), or a record already decoded from a
//! columnar file.

use serde::{Deserialize, Serialize};

use crate::model::Record;

/// One item of a feed, as a source reads it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Payload {
    /// A JSON line, not yet parsed (it may be malformed).
    Line(String),
    /// A record decoded from a structured source (Parquet).
    Decoded(Record),
}

use differential_dataflow::VecCollection;
use timely::dataflow::StreamVec;
use timely::dataflow::operators::vec::Map;

use oddsflow_operators::{
    Ignored, MapFallible, RequireParent, UpsertInput, UpsertRetiring, route_hash,
};

use crate::Time;
use crate::model::*;
use crate::reject::{DeadLetter, RejectReason, ValidationConfig, validate};
use crate::wire::{parse_json_line, to_json_line};

/// A feed item with its position in the feed (used in dead letters).
pub type Sequenced = (u64, Payload);

/// What ingest produces.
pub struct Ingested<'scope> {
    /// The current keyed state of every match: the newest version of each key, with the event
    /// time of the record that set it.
    pub state: VecCollection<'scope, Time, (RecordKey, (Body, EventTime))>,
    /// Valid records, before upsert (each counted once as `records_ok`).
    pub valid: StreamVec<'scope, Time, Record>,
    /// Refused records with their reasons.
    pub dead_letters: StreamVec<'scope, Time, DeadLetter>,
    /// Valid records that changed nothing: duplicates and stale versions.
    pub ignored: StreamVec<'scope, Time, (RecordKey, Version, Ignored)>,
}

/// Routes everything about a match to one worker.
pub fn route_match(m: &MatchId) -> u64 {
    route_hash(m)
}

/// Parses and validates one feed item (the bounds that are settings come from `cfg`).
pub fn parse_and_validate(
    (seq, payload): Sequenced,
    cfg: &ValidationConfig,
) -> Result<Record, DeadLetter> {
    let (record, raw) = match payload {
        Payload::Line(line) => match parse_json_line(&line) {
            Ok(r) => (r, Some(line)),
            Err(e) => {
                return Err(DeadLetter {
                    seq,
                    reason: e.reason,
                    detail: e.detail,
                    record: line,
                });
            }
        },
        Payload::Decoded(r) => (r, None),
    };
    match validate(&record, cfg) {
        Ok(()) => Ok(record),
        Err(e) => Err(DeadLetter {
            seq,
            reason: e.reason,
            detail: e.detail,
            record: raw.unwrap_or_else(|| to_json_line(&record)),
        }),
    }
}

/// Is this piece of state kept when its match retires? The fixture, result and abandonment are
/// the cross-match archive (ratings read them); everything else is per-match state.
pub fn kept_after_retirement(key: &RecordKey) -> bool {
    matches!(
        key.1,
        StateKey::Fixture | StateKey::Result | StateKey::Abandonment
    )
}

/// Builds the ingest dataflow over a stream of sequenced feed items, validated under `cfg`. A
/// match id on `retire` at time `t` retracts the match's per-match state at `t` (see
/// [`kept_after_retirement`]); later records of those kinds for it are ignored as `Retired`.
pub fn ingest<'scope>(
    items: StreamVec<'scope, Time, Sequenced>,
    retire: StreamVec<'scope, Time, MatchId>,
    cfg: &ValidationConfig,
) -> Ingested<'scope> {
    let cfg = cfg.clone();
    let (parsed, parse_errors) = items.map_fallible("Parse+Validate", move |item: Sequenced| {
        let seq = item.0;
        parse_and_validate(item, &cfg).map(|r| (seq, r))
    });
    // A record is for a known match only if the match's fixture was seen at or before its time.
    let (known, orphans) = parsed.require_parent(
        "RequireFixture",
        |(_, r): &(u64, Record)| r.match_id,
        |(_, r): &(u64, Record)| matches!(r.body, Body::Fixture(_)).then_some(r.match_id),
        route_match,
    );
    let orphans = orphans.map(|(seq, r)| DeadLetter {
        seq,
        reason: RejectReason::UnknownMatch,
        detail: format!(
            "no fixture for match {} at or before ts {}",
            r.match_id, r.ts
        ),
        record: to_json_line(&r),
    });
    let valid = known.map(|(_, r)| r);
    let (state, ignored) = {
        use timely::dataflow::operators::Concat;
        valid
            .clone()
            .map(|r| UpsertInput::Assert(r.key(), r.version(), (r.body, r.ts)))
            .concat(retire.map(UpsertInput::Retire))
            .upsert_retiring(
                "UpsertByVersion",
                route_match,
                |k: &RecordKey| k.0,
                kept_after_retirement,
            )
    };
    let dead_letters = {
        use timely::dataflow::operators::Concat;
        parse_errors.concat(orphans)
    };
    Ingested {
        state,
        valid,
        dead_letters,
        ignored,
    }
}

/// The keyed state split by kind, each keyed by match.
pub struct MatchState<'scope> {
    pub fixtures: VecCollection<'scope, Time, (MatchId, Fixture)>,
    pub lineups: VecCollection<'scope, Time, (MatchId, Lineup)>,
    pub statuses: VecCollection<'scope, Time, (MatchId, Status)>,
    pub incidents: VecCollection<'scope, Time, (MatchId, Incident)>,
    /// The incidents with the event time of the record that set them (for event-time windows).
    pub timed_incidents: VecCollection<'scope, Time, (MatchId, (EventTime, Incident))>,
    pub markets: VecCollection<'scope, Time, (MatchId, Market)>,
    pub odds: VecCollection<'scope, Time, (MatchId, Odds)>,
    pub results: VecCollection<'scope, Time, (MatchId, MatchResult)>,
    pub abandonments: VecCollection<'scope, Time, (MatchId, Abandonment)>,
}

/// A state change tagged with its match, before it is split by kind.
type KindChange = ((MatchId, (Body, EventTime)), Time, isize);

fn kind_index(body: &Body) -> u64 {
    match body {
        Body::Fixture(_) => 0,
        Body::Lineup(_) => 1,
        Body::Status(_) => 2,
        Body::Incident(_) => 3,
        Body::Market(_) => 4,
        Body::Odds(_) => 5,
        Body::Result(_) => 6,
        Body::Abandonment(_) => 7,
    }
}

fn unwrap_kind<'scope, X: Clone + 'static>(
    part: StreamVec<'scope, Time, KindChange>,
    pick: fn(Body) -> Option<X>,
) -> VecCollection<'scope, Time, (MatchId, (X, EventTime))> {
    use differential_dataflow::AsCollection;
    part.flat_map(move |((m, (body, ts)), t, r)| pick(body).map(|x| ((m, (x, ts)), t, r)))
        .as_collection()
}

fn untimed<'scope, X: Clone + 'static>(
    c: VecCollection<'scope, Time, (MatchId, (X, EventTime))>,
) -> VecCollection<'scope, Time, (MatchId, X)> {
    c.map(|(m, (x, _))| (m, x))
}

/// `|b| match b { Body::$v(x) => Some(x), _ => None }`
macro_rules! pick {
    ($v:ident) => {
        |b| match b {
            Body::$v(x) => Some(x),
            _ => None,
        }
    };
}

impl<'scope> MatchState<'scope> {
    /// Splits the keyed state by kind. Each change goes to exactly one output (a `partition`,
    /// not eight filters: a stream read by several operators is cloned for each of them, and
    /// odds changes are most of the feed).
    pub fn split(state: &VecCollection<'scope, Time, (RecordKey, (Body, EventTime))>) -> Self {
        use timely::dataflow::operators::vec::Partition;
        let parts = state
            .inner
            .clone()
            .partition(8, |(((m, _), stamped), t, r)| {
                (kind_index(&stamped.0), ((m, stamped), t, r))
            });
        let mut parts = parts.into_iter();
        let mut next = || parts.next().expect("eight parts");
        let fixtures = untimed(unwrap_kind(next(), pick!(Fixture)));
        let lineups = untimed(unwrap_kind(next(), pick!(Lineup)));
        let statuses = untimed(unwrap_kind(next(), pick!(Status)));
        let timed_incidents = unwrap_kind(next(), pick!(Incident)).map(|(m, (i, ts))| (m, (ts, i)));
        let incidents = timed_incidents.clone().map(|(m, (_, i))| (m, i));
        MatchState {
            fixtures,
            lineups,
            statuses,
            incidents,
            timed_incidents,
            markets: untimed(unwrap_kind(next(), pick!(Market))),
            odds: untimed(unwrap_kind(next(), pick!(Odds))),
            results: untimed(unwrap_kind(next(), pick!(Result))),
            abandonments: untimed(unwrap_kind(next(), pick!(Abandonment))),
        }
    }
}
