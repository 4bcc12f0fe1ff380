//! Betfair Exchange data as feed records: Stream API recordings and the A-League CSVs.
//!
//! [`import`] takes any mix of files and tells them apart by name and content: a name with
//! `.csv` (also `.csv.gz`, `.csv.bz2`) or a header with `EVENT_ID` and `MARKET_ID` is an A-League
//! CSV; text starting with `{` or `[` is a stream recording. Every match is a Betfair event, with
//! `match_id = stable_id(["betfair", eventId])` in both sources, so that a stream recording and a
//! CSV of the same event land on the same match.
//!
//! # Stream recordings (`{"op":"mcm","pt":…,"mc":[…]}`)
//!
//! One message a line (plain, `.gz` or `.bz2`); a file holding one pretty-printed message (or an
//! array of messages) is read as well. Per market the importer keeps the latest
//! `marketDefinition` (a later one replaces the earlier) and, per runner (selection id and
//! handicap), the ladder of prices available to back: `atb` deltas set a price level's size and
//! size 0 removes the level, `img: true` starts the market's ladders afresh; `batb` (by level) is
//! kept the same way for recordings that carry only that. After each market change, at the
//! message's publish time `pt`, it emits:
//!
//! | record | when |
//! |---|---|
//! | `Fixture` | with the first imported market of an event: home and away from `eventName` "Home v Away", kick-off = `marketTime`, league = `competition` if present else "Betfair " + `countryCode`, season = kick-off year; re-sent (new version) when a market of the event moves its `marketTime` |
//! | `Market` | whenever a mapped market's (status, in-play, listed selections) changes: OPEN → Open, SUSPENDED and INACTIVE → Suspended, CLOSED → Closed; phase InPlay iff `inPlay`; REMOVED runners drop out of the selections |
//! | `Odds` (`modelled: false`) | whenever a runner's best back price (the highest `atb` price with size > 0) changes while its market is OPEN; a price must be > 1 |
//! | `Status` FirstHalf, clock 0 | the first time a market of the event is in play |
//! | `Status` Finished + `Result` | once per event, after all files, at the latest settlement of its markets (`settledTime`, else `pt` of the CLOSED message) |
//!
//! Market types: `MATCH_ODDS` → 1X2 (runner named like the home team → Home, "The Draw" or
//! selection 58805 → Draw, the other → Away); `BOTH_TEAMS_TO_SCORE` → BTTS (Yes/No);
//! `OVER_UNDER_xy` → over/under x.y goals (Over/Under by runner name); `ASIAN_HANDICAP` → one
//! Asian handicap market per home-side line: the home runner at handicap `hc` and the away runner
//! at `-hc` are Home and Away of line `hc` (Betfair lists a whole ladder of lines in one market).
//! Every other market type is skipped, one `skipped` line per market with its message count, as
//! are markets of other sports (`eventTypeId` other than 1) and markets whose messages come
//! without any `marketDefinition` (a resubscription delta).
//!
//! Recordings without names (the limx0 recording has neither `eventName` nor runner names) rely
//! on Betfair's conventions: in MATCH_ODDS and ASIAN_HANDICAP the home team's runner has the
//! lowest `sortPriority`, the draw is selection 58805; the teams are then called "Betfair
//! selection <id>" (Betfair keeps a team's selection id across events, so team ids stay stable);
//! BTTS runners without names are Yes, No and over/under runners Under, Over in `sortPriority`
//! order.
//!
//! **Results.** Betfair streams carry no score. When a market CLOSES with runners marked WINNER
//! or LOSER, each mark is a constraint (WINNER: the selection settles won — or half won on a
//! quarter Asian line —, LOSER: lost or half lost), and the result is the *smallest* full-time
//! score consistent with every settled market of the event: home and away goals are searched in
//! `0..=15`, fewest total goals first, then fewest home goals (a BTTS Yes winner alone gives 1-1,
//! a BTTS No winner 0-0, with a home 1X2 winner 1-0). It is the score Betfair's settlement
//! implies, not necessarily the real one (a BTTS Yes 1-1 may have been a 3-2); every market that
//! settled on Betfair settles the same way on it. It is emitted once per event, after all files,
//! at the latest settlement time. Half time is 0-0 (unknown; nothing the importer emits settles
//! on it). When no score agrees with all marks, no result is emitted and `skipped` says so.
//!
//! # A-League CSVs (betfair-datascientists)
//!
//! `*_Match_Odds.csv(.gz)`: one row per runner, with the best back price at kick-off and, in
//! play, at half time (`HALF_TIME` timestamp), WINNER/LOSER and the final score. Per event (one
//! Match Odds market per event; where a file lists two, the one with more prices is kept and the
//! other's rows are skipped):
//!
//! | ts | records |
//! |---|---|
//! | kick-off − 90 min | `Fixture` (league "A-League" or "A-League Women", season from the file name, e.g. "2020-21") |
//! | kick-off − 1 min | `Market` MatchOdds Open Prematch, `Odds` at the kick-off best back prices |
//! | kick-off | `Market` Suspended, `Status` FirstHalf |
//! | `HALF_TIME` | `Status` HalfTime; when every runner has a half-time price: `Market` Open InPlay and the half-time prices as one in-play snapshot |
//! | `HALF_TIME` + 1 min | `Market` Suspended InPlay (a snapshot is one instant, not a price stream) |
//! | kick-off + 120 min | `Market` Closed, `Status` Finished, `Result` (HOME_SCORE–AWAY_SCORE) |
//!
//! **Kick-off** is not in the files: `EVENT_DATE` is a date (00:00). When the event has a
//! `HALF_TIME` timestamp, kick-off is taken as `HALF_TIME` − 60 min (floored to the minute). The
//! half-time snapshot is taken at the start of the break: 84% of the stamps fall 1–8 min past a
//! quarter hour, i.e. 46–53 min after a kick-off on the quarter hour (45 min plus stoppage), so
//! `HALF_TIME` − 60 min mostly errs early, by 7–14 min, and keeps the prematch prices before
//! the real kick-off. Without a `HALF_TIME` (the 2022-23 men's file has no such column, so its
//! half-time prices are not imported) kick-off is 00:00 UTC of `EVENT_DATE`, the earliest instant
//! of the match's date. The end (kick-off + 120 min) is an estimate too.
//!
//! **Teams.** The order of the Betfair event name in `PATH` ("… / Home v Away") decides home and
//! away (one 2022-23 row has `HOME_TEAM`/`AWAY_TEAM` swapped against it, and its score follows
//! the event name). Names are mapped onto the A-League clubs (the club sharing most leading words,
//! a truncated last word counting: "Western Sydney (W)", "Western Sydney Wanderers (W" →
//! "Western Sydney Wanderers"), with " (W)" for every women's team; runners are matched to teams
//! the same way, so "Central Coast (W)" is the runner of "Central Coast Mariners (W)".
//!
//! **Results.** Half time is 0-0: the files have no half-time score and the model needs one
//! (read it as unknown; no market the importer emits settles on it). Every WINNER/LOSER runner
//! must settle won/lost against the score; a row where it does not is skipped with its reason
//! and the event gets no result (the score columns and Betfair's settlement disagree, and
//! neither can be trusted over the other). Events without a score get no result either, nor
//! do events whose score is not whole numbers (some rows read "5.625"-"1.375").
//!
//! `*_All_Markets.csv(.gz)` (women's league; prices 60, 30 and 1 min before kick-off): Match
//! Odds, Over/Under N.5 Goals, Both teams to Score and Double Chance are imported as prematch
//! markets opening 60 min before kick-off with the three snapshots (a Match_Odds file's kick-off
//! price wins over the 1-min price of the same runner when both files are read); the other market
//! types are skipped, one `skipped` line per file and market name with its row count.
//!
//! # Layout
//!
//! In: file paths. Out: [`Imported`] — the records of every file in one feed, ordered by event
//! time with versions numbered along it, and a [`BetfairReport`] that counts what was imported
//! and lists every skipped message, row or market with its reason.
//!
//! - this module: the entry point [`import`] (detects each file's kind and hands it to its
//!   importer) and [`BetfairReport`]; what both importers share: the output buffer (`Out`:
//!   collects bodies, orders them by time, numbers versions), record bodies, valid prices,
//!   settlement marks and the smallest score they imply (`Mark`, `derive_score`), team and
//!   runner name matching (`affinity`, `pair_names`, `split_event_name`), over/under and yes/no
//!   selections by name, and Betfair's date and time formats (`parse_time`).
//! - `stream`: the Stream API importer (market definitions, price ladders, market mapping,
//!   per-message emission, settlement at the end).
//! - `csv`: the A-League CSV importer (rows into events, markets and runners; each event into
//!   its timeline of records at the end).
//! - `tests`: the tests of both, on the excerpts in `fixtures/real/betfair` and, where present,
//!   the whole of `../shared/data`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use oddsflow_dataflows::model::{
    Body, EventTime, F64, Line, Market, MarketKind, MarketStatus, MatchId, MatchResult,
    MatchStatus, Odds, Phase, Record, Score, Selection, Status, Version,
};
use oddsflow_dataflows::settlement::{MatchFacts, Outcome, settle};
use serde_json::Value;

use self::csv::CsvState;
use self::stream::StreamState;
use super::{FeedBuilder, ImportReport, Imported, read_text};
use crate::time::{days_in_month, utc_ms};

mod csv;
mod stream;
#[cfg(test)]
mod tests;

/// What was imported, and what was not with its reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BetfairReport {
    /// Files read.
    pub files: usize,
    /// Matches (Betfair events) with a fixture.
    pub events: usize,
    /// Markets: distinct (match, market kind) with a `Market` record (a Betfair Asian handicap
    /// market counts once per line).
    pub markets: usize,
    /// `Odds` records.
    pub odds: usize,
    /// `Result` records.
    pub results: usize,
    /// One line per skipped message, row or market, with its reason.
    pub skipped: Vec<String>,
}

impl ImportReport for BetfairReport {
    fn notes(&self) -> Vec<String> {
        vec![format!(
            "{} files: {} events, {} markets, {} prices, {} results",
            self.files, self.events, self.markets, self.odds, self.results
        )]
    }

    fn refused(&self) -> Vec<Value> {
        super::reasons(&self.skipped)
    }
}

/// Reads every file (stream recordings, plain or `.bz2`/`.gz`, or A-League CSVs `.csv`/`.csv.gz`,
/// told apart by content and name) into one feed. A file that cannot be read or is neither kind
/// is an error; a bad message or row inside a file is skipped with its reason.
pub fn import(paths: &[PathBuf]) -> Result<Imported<BetfairReport>> {
    let mut out = Out::default();
    let mut skipped = Vec::new();
    let mut stream = StreamState::default();
    let mut csv = CsvState::default();
    for path in paths {
        let text = read_text(path)?;
        match detect(path, &text) {
            Source::Stream => stream.read_file(path, &text, &mut out, &mut skipped),
            Source::Csv => csv.read_file(path, &text, &mut skipped),
            Source::Unknown => bail!(
                "{}: neither a Betfair stream recording (op: mcm) nor a Betfair A-League CSV",
                path.display()
            ),
        }
    }
    stream.finish(&mut out, &mut skipped);
    csv.finish(&mut out, &mut skipped);
    let records = out.finish();
    let mut events = BTreeSet::new();
    let mut markets = BTreeSet::new();
    let (mut odds, mut results) = (0, 0);
    for r in &records {
        match &r.body {
            Body::Fixture(_) => {
                events.insert(r.match_id);
            }
            Body::Market(m) => {
                markets.insert((r.match_id, m.market));
            }
            Body::Odds(_) => odds += 1,
            Body::Result(_) => results += 1,
            _ => {}
        }
    }
    let report = BetfairReport {
        files: paths.len(),
        events: events.len(),
        markets: markets.len(),
        odds,
        results,
        skipped,
    };
    Ok(Imported { records, report })
}

const MINUTE: EventTime = 60_000;
const DAY: EventTime = 86_400_000;
/// Betfair's selection id of "The Draw" in every match-odds market.
const DRAW_SELECTION: u64 = 58805;

enum Source {
    Stream,
    Csv,
    Unknown,
}

fn detect(path: &Path, text: &str) -> Source {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.contains(".csv") {
        return Source::Csv;
    }
    let first = text.trim_start();
    if first.starts_with('{') || first.starts_with('[') {
        return Source::Stream;
    }
    let header = first.lines().next().unwrap_or("");
    if header.contains("EVENT_ID") && header.contains("MARKET_ID") {
        return Source::Csv;
    }
    Source::Unknown
}

fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

// ---------------------------------------------------------------------------------------------
// Output: bodies are collected with version 0, ordered by time, then numbered.

#[derive(Default)]
struct Out {
    items: Vec<(EventTime, MatchId, Body)>,
}

impl Out {
    fn push(&mut self, ts: EventTime, match_id: MatchId, body: Body) {
        self.items.push((ts, match_id, body));
    }

    /// Orders by time (stably: records of one instant keep their order) before numbering, so
    /// that versions grow with event time for every key whatever order the files came in.
    fn finish(mut self) -> Vec<Record> {
        self.items.sort_by_key(|(ts, _, _)| *ts);
        let mut b = FeedBuilder::new();
        for (ts, match_id, body) in self.items {
            b.push(ts, match_id, move |v| with_version(body, v));
        }
        b.finish()
    }
}

fn with_version(mut body: Body, v: Version) -> Body {
    match &mut body {
        Body::Fixture(x) => x.version = v,
        Body::Lineup(x) => x.version = v,
        Body::Status(x) => x.version = v,
        Body::Incident(x) => x.version = v,
        Body::Market(x) => x.version = v,
        Body::Odds(x) => x.version = v,
        Body::Result(x) => x.version = v,
        Body::Abandonment(x) => x.version = v,
    }
    body
}

fn market_body(
    market: MarketKind,
    status: MarketStatus,
    phase: Phase,
    selections: Vec<Selection>,
) -> Body {
    Body::Market(Market {
        version: 0,
        market,
        status,
        phase,
        selections,
    })
}

fn odds_body(market: MarketKind, selection: Selection, price: f64) -> Body {
    Body::Odds(Odds {
        version: 0,
        market,
        selection,
        price: F64(price),
        modelled: false,
    })
}

fn status_body(status: MatchStatus, clock_s: i32) -> Body {
    Body::Status(Status {
        version: 0,
        status,
        clock_s,
    })
}

fn result_body(full_time: Score) -> Body {
    Body::Result(MatchResult {
        version: 0,
        half_time: Score::default(),
        full_time,
        corners: None,
    })
}

fn valid_price(p: f64) -> bool {
    p.is_finite() && p > 1.0
}

// ---------------------------------------------------------------------------------------------
// Shared: settlement marks and the score they imply.

/// A settled runner: `won` for WINNER, else LOSER.
#[derive(Clone, Debug, PartialEq)]
struct Mark {
    kind: MarketKind,
    selection: Selection,
    listed: Vec<Selection>,
    won: bool,
}

fn facts(score: Score) -> MatchFacts {
    MatchFacts {
        full_time: score,
        ..MatchFacts::default()
    }
}

/// Does the score settle this mark as Betfair did? (A quarter Asian line is half won or half
/// lost at most scores; Betfair marks the runner WINNER or LOSER.)
fn agrees(mark: &Mark, facts: &MatchFacts) -> bool {
    match settle(mark.kind, mark.selection, &mark.listed, facts) {
        Ok(Outcome::Won | Outcome::HalfWon) => mark.won,
        Ok(Outcome::Lost | Outcome::HalfLost) => !mark.won,
        _ => false,
    }
}

/// The smallest score (fewest goals, then fewest home goals; up to 15 a side) that settles every
/// mark as Betfair did.
fn derive_score(marks: &[Mark]) -> Option<Score> {
    for total in 0u8..=30 {
        for home in 0..=total.min(15) {
            let away = total - home;
            if away > 15 {
                continue;
            }
            let f = facts(Score { home, away });
            if marks.iter().all(|m| agrees(m, &f)) {
                return Some(f.full_time);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Shared: names.

fn name_tokens(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty() && *t != "w")
        .map(str::to_string)
        .collect()
}

/// How well two team names match: 1000 when they are the same words (case, punctuation and a
/// women's "(W)" aside), else 10 per leading word in common, where a name's last word also
/// matches a longer word it begins (a truncated name).
fn affinity(a: &str, b: &str) -> u32 {
    let (ta, tb) = (name_tokens(a), name_tokens(b));
    if ta.is_empty() || tb.is_empty() {
        return 0;
    }
    if ta == tb {
        return 1000;
    }
    let mut n = 0;
    for (i, (x, y)) in ta.iter().zip(&tb).enumerate() {
        let x_cut = i + 1 == ta.len();
        let y_cut = i + 1 == tb.len();
        if x == y || (x_cut && y.starts_with(x.as_str())) || (y_cut && x.starts_with(y.as_str())) {
            n += 10;
        } else {
            break;
        }
    }
    n
}

/// Which of two runner names is the home team's: `Some(true)` when the first, `Some(false)` when
/// the second, `None` when the names do not say. `home`/`away` may hold several spellings.
fn pair_names(first: &str, second: &str, home: &[&str], away: &[&str]) -> Option<bool> {
    let aff = |n: &str, names: &[&str]| names.iter().map(|t| affinity(n, t)).max().unwrap_or(0);
    let (fh, fa, sh, sa) = (
        aff(first, home),
        aff(first, away),
        aff(second, home),
        aff(second, away),
    );
    if fh + sa > fa + sh && fh > 0 && sa > 0 {
        Some(true)
    } else if fa + sh > fh + sa && fa > 0 && sh > 0 {
        Some(false)
    } else {
        None
    }
}

fn is_draw_name(name: &str) -> bool {
    let n = name.trim().to_lowercase();
    n == "the draw" || n == "draw"
}

/// `OVER_UNDER_25` → 2.5, `OVER_UNDER_105` → 10.5.
fn over_under_line(market_type: &str) -> Option<Line> {
    let digits = market_type.strip_prefix("OVER_UNDER_")?;
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    Line::from_goals(f64::from(n) / 10.0)
}

fn over_under_selection(name: &str) -> Option<Selection> {
    let n = name.trim().to_lowercase();
    if n.starts_with("over") {
        Some(Selection::Over)
    } else if n.starts_with("under") {
        Some(Selection::Under)
    } else {
        None
    }
}

fn yes_no_selection(name: &str) -> Option<Selection> {
    match name.trim().to_lowercase().as_str() {
        "yes" => Some(Selection::Yes),
        "no" => Some(Selection::No),
        _ => None,
    }
}

/// "Home v Away" (also " vs ", " V ") → (Home, Away).
fn split_event_name(name: &str) -> Option<(String, String)> {
    for sep in [" v ", " vs ", " V "] {
        if let Some((h, a)) = name.split_once(sep) {
            let (h, a) = (h.trim(), a.trim());
            if !h.is_empty() && !a.is_empty() {
                return Some((h.to_string(), a.to_string()));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Shared: time.

/// UTC milliseconds of a date with an optional time of day and zone, as Betfair writes them:
/// `2020-12-28 00:00:00.000 +0000`, `2023-10-20T09:37:41.000Z`, `2018-07-22T19:13:28Z`,
/// `7/10/2022` (day first, as in Betfair's Australian files). The flag says whether a time of day
/// was written.
fn parse_time(s: &str) -> Option<(EventTime, bool)> {
    let s = s.trim();
    let (date, rest) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let num = |p: Option<&str>| p.and_then(|x| x.trim().parse::<i64>().ok());
    let (y, m, d) = if date.contains('-') {
        let mut p = date.split('-');
        let ymd = (num(p.next())?, num(p.next())?, num(p.next())?);
        if p.next().is_some() {
            return None;
        }
        ymd
    } else if date.contains('/') {
        let mut p = date.split('/');
        let (d, m, y) = (num(p.next())?, num(p.next())?, num(p.next())?);
        if p.next().is_some() {
            return None;
        }
        (if y < 100 { y + 2000 } else { y }, m, d)
    } else {
        return None;
    };
    let m = u32::try_from(m).ok().filter(|m| (1..=12).contains(m))?;
    let d = u32::try_from(d)
        .ok()
        .filter(|d| *d >= 1 && *d <= days_in_month(y, m))?;
    if rest.is_empty() {
        return Some((utc_ms(y, m, d, 0, 0, 0), false));
    }
    let cut = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(rest.len());
    let (time, zone) = (&rest[..cut], rest[cut..].trim());
    let mut tp = time.split(':');
    let hh = u32::try_from(num(tp.next())?).ok().filter(|h| *h < 24)?;
    let mm = u32::try_from(num(tp.next())?).ok().filter(|m| *m < 60)?;
    let (ss, ms) = match tp.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let ss = u32::try_from(num(Some(whole))?).ok().filter(|s| *s < 61)?;
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let ms: String = frac.chars().chain("000".chars()).take(3).collect();
            (ss, ms.parse::<i64>().ok()?)
        }
    };
    if tp.next().is_some() {
        return None;
    }
    let offset_min: i64 = match zone {
        "" | "Z" | "z" | "UTC" | "GMT" => 0,
        z => {
            let (sign, digits) = match z.as_bytes().first() {
                Some(b'+') => (1, &z[1..]),
                Some(b'-') => (-1, &z[1..]),
                _ => return None,
            };
            let digits: String = digits.chars().filter(|c| *c != ':').collect();
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i64>().ok()?,
                    digits[2..].parse::<i64>().ok()?,
                ),
                _ => return None,
            };
            sign * (h * 60 + m)
        }
    };
    Some((utc_ms(y, m, d, hh, mm, ss) + ms - offset_min * MINUTE, true))
}
