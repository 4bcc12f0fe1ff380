//! Feed noise applied to one match's clean records: reordering, duplicates, stale versions and
//! malformed lines. (Result corrections, VAR overturns and abandonment happen inside the match,
//! see `game.rs`.)
//!
//! Every item gets a *file time* `eff` (the moment it reaches the file, ≥ its `ts`, never more than
//! `reorder_ms` later); the feed is ordered by `(eff, match, seq)`.

use std::collections::BTreeMap;

use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::wire::to_json_line;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{NoiseConfig, sub_seed};

/// Stream number of the per-match feed-noise generator (see [`sub_seed`]).
const STREAM_FEED_NOISE: u64 = 4;
/// Duplicates arrive at most this long after the original (and never later than `reorder_ms`).
const DUPLICATE_DELAY_MS: i64 = 5_000;
/// A stale version is re-sent 1–20 s after the newer one.
const STALE_DELAY_MS: (i64, i64) = (1_000, 20_000);
/// Versions of the bad records among the malformed lines: high enough that a pipeline which let
/// one through would visibly shadow the real state.
const BAD_VERSION: Version = 1_000_000;
/// Match ids of markets for matches that have no fixture.
pub(crate) const UNKNOWN_MATCH_BASE: MatchId = 9_000_000_000;

/// One feed item of a match with its file time and sequence number.
pub(crate) struct Item {
    pub eff: i64,
    pub seq: u64,
    pub payload: Payload,
}

/// The kinds of malformed lines, in the order they are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Garbage {
    /// A real record's JSON line cut short.
    Truncated,
    /// `{"ts":..,"match":..,"kind":"weather",..}`.
    UnknownKind,
    /// Odds with price 0.9.
    PriceBelowOne,
    /// Odds with price NaN (written as the string "NaN").
    PriceNan,
    /// A status with a negative clock.
    NegativeClock,
    /// A market for a match id that has no fixture.
    UnknownMatch,
    /// Not JSON at all.
    NotJson,
}

const GARBAGE: [Garbage; 7] = [
    Garbage::Truncated,
    Garbage::UnknownKind,
    Garbage::PriceBelowOne,
    Garbage::PriceNan,
    Garbage::NegativeClock,
    Garbage::UnknownMatch,
    Garbage::NotJson,
];

fn garbage_line(rng: &mut ChaCha8Rng, r: &Record) -> String {
    let bad = |match_id, body| {
        to_json_line(&Record {
            ts: r.ts,
            match_id,
            body,
        })
    };
    match GARBAGE[rng.random_range(0..GARBAGE.len())] {
        Garbage::Truncated => {
            let line = to_json_line(r);
            let mut cut = rng
                .random_range(1..line.len().max(2))
                .min(line.len().saturating_sub(1));
            while cut > 0 && !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line[..cut].to_string()
        }
        Garbage::UnknownKind => format!(
            r#"{{"ts":{},"match":{},"kind":"weather","version":1,"temperature_c":{},"wind_kmh":{}}}"#,
            r.ts,
            r.match_id,
            rng.random_range(-5..35),
            rng.random_range(0..60)
        ),
        Garbage::PriceBelowOne | Garbage::PriceNan => {
            let nan = rng.random::<f64>() < 0.5;
            let price = if nan { f64::NAN } else { 0.9 };
            bad(
                r.match_id,
                Body::Odds(Odds {
                    version: BAD_VERSION,
                    market: MarketKind::MatchOdds,
                    selection: Selection::Home,
                    price: F64(price),
                    modelled: false,
                }),
            )
        }
        Garbage::NegativeClock => bad(
            r.match_id,
            Body::Status(Status {
                version: BAD_VERSION,
                status: MatchStatus::FirstHalf,
                clock_s: -rng.random_range(1..=600),
            }),
        ),
        Garbage::UnknownMatch => bad(
            UNKNOWN_MATCH_BASE + rng.random_range(0..1_000_000),
            Body::Market(Market {
                version: 1,
                market: MarketKind::MatchOdds,
                status: MarketStatus::Open,
                phase: Phase::Prematch,
                selections: vec![Selection::Home, Selection::Draw, Selection::Away],
            }),
        ),
        Garbage::NotJson => {
            const JUNK: [&str; 3] = [
                "<html><body>502 Bad Gateway</body></html>",
                "\u{1}\u{2}PING",
                "ts=;match=;;",
            ];
            JUNK[rng.random_range(0..JUNK.len())].to_string()
        }
    }
}

/// Applies the feed noise to one match's records (in generation order) and returns its items
/// sorted by `(eff, seq)`.
pub(crate) fn apply(
    noise: &NoiseConfig,
    seed: u64,
    index: usize,
    records: Vec<Record>,
) -> Vec<Item> {
    let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, STREAM_FEED_NOISE, index as u64));
    let mut items = Vec::with_capacity(records.len() + records.len() / 16);
    let mut seq = 0u64;
    let mut push = |items: &mut Vec<Item>, eff: i64, payload: Payload| {
        items.push(Item { eff, seq, payload });
        seq += 1;
    };
    let mut last: BTreeMap<StateKey, Record> = BTreeMap::new();
    let reorder = noise.reorder_ms.clamp(0, 30_000);
    for r in records {
        // Draw a fixed number of values per record, so that one kind of noise does not shift the
        // others.
        let u_reorder = rng.random::<f64>();
        let u_dup = rng.random::<f64>();
        let u_stale = rng.random::<f64>();
        let u_bad = rng.random::<f64>();
        let delay = if reorder > 0 {
            rng.random_range(1..=reorder)
        } else {
            0
        };
        let dup_delay = rng.random_range(0..=DUPLICATE_DELAY_MS.min(reorder));
        let stale_delay = rng.random_range(STALE_DELAY_MS.0..=STALE_DELAY_MS.1);

        let eff = if u_reorder < noise.reordered {
            r.ts + delay
        } else {
            r.ts
        };
        push(&mut items, eff, Payload::Decoded(r.clone()));
        if u_dup < noise.duplicates {
            push(
                &mut items,
                eff.max(r.ts + dup_delay),
                Payload::Decoded(r.clone()),
            );
        }
        let key = r.body.state_key();
        let keep = matches!(r.body, Body::Odds(_) | Body::Market(_) | Body::Status(_));
        if keep
            && u_stale < noise.stale
            && r.version() >= 2
            && let Some(old) = last.get(&key)
        {
            // An older version re-sent later: it carries the time it was re-sent.
            let ts = r.ts + stale_delay;
            push(
                &mut items,
                ts,
                Payload::Decoded(Record { ts, ..old.clone() }),
            );
        }
        if u_bad < noise.malformed {
            let line = garbage_line(&mut rng, &r);
            push(&mut items, r.ts, Payload::Line(line));
        }
        if keep {
            last.insert(key, r);
        }
    }
    items.sort_by_key(|i| (i.eff, i.seq));
    items
}
