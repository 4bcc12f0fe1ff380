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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use oddsflow_dataflows::model::{
    Body, EventTime, F64, Fixture, Line, Market, MarketKind, MarketStatus, MatchId, MatchResult,
    MatchStatus, Odds, Phase, Record, Score, Selection, Status, TeamRef, Version,
};
use oddsflow_dataflows::settlement::{MatchFacts, Outcome, settle};
use serde_json::Value;

use super::{FeedBuilder, ImportReport, Imported, read_text, stable_id, team_id};
use crate::time::{civil_from_days, days_in_month, utc_ms};

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

// ---------------------------------------------------------------------------------------------
// Stream recordings.

/// A runner: selection id and handicap (0 when absent; -0 normalised to 0).
type RunnerKey = (u64, F64);

fn runner_key(id: u64, hc: f64) -> RunnerKey {
    (id, F64(if hc == 0.0 { 0.0 } else { hc }))
}

#[derive(Clone, Debug)]
struct RunnerDef {
    id: u64,
    hc: f64,
    name: Option<String>,
    status: String,
    sort: i64,
}

impl RunnerDef {
    fn key(&self) -> RunnerKey {
        runner_key(self.id, self.hc)
    }
}

fn is_removed(status: &str) -> bool {
    matches!(status, "REMOVED" | "REMOVED_VACANT" | "HIDDEN")
}

#[derive(Clone, Debug)]
struct MarketDef {
    event_id: String,
    event_type: Option<String>,
    event_name: Option<String>,
    market_type: String,
    market_time: Option<EventTime>,
    status: String,
    in_play: bool,
    settled_time: Option<EventTime>,
    country: Option<String>,
    competition: Option<String>,
    runners: Vec<RunnerDef>,
}

/// An id written as a number or a string.
fn flexible_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn flexible_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn flexible_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_definition(d: &Value) -> Result<MarketDef, String> {
    let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
    let event_id = d
        .get("eventId")
        .and_then(flexible_string)
        .ok_or("no eventId")?;
    let market_type = text("marketType").ok_or("no marketType")?;
    let status = text("status").ok_or("no status")?;
    let time = |k: &str| -> Result<Option<EventTime>, String> {
        match text(k) {
            None => Ok(None),
            Some(s) => parse_time(&s)
                .map(|(t, _)| Some(t))
                .ok_or(format!("unreadable {k} {s:?}")),
        }
    };
    let mut runners = Vec::new();
    for r in d
        .get("runners")
        .and_then(Value::as_array)
        .ok_or("no runners")?
    {
        let id = r
            .get("id")
            .and_then(flexible_u64)
            .ok_or("a runner without an id")?;
        let hc = match r.get("hc") {
            None | Some(Value::Null) => 0.0,
            Some(v) => flexible_f64(v).ok_or(format!("runner {id}: unreadable hc"))?,
        };
        runners.push(RunnerDef {
            id,
            hc,
            name: r.get("name").and_then(Value::as_str).map(str::to_string),
            status: r
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("ACTIVE")
                .to_string(),
            sort: r.get("sortPriority").and_then(Value::as_i64).unwrap_or(0),
        });
    }
    runners.sort_by_key(|r| r.sort);
    let competition = d.get("competition").and_then(|c| match c {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
        _ => None,
    });
    Ok(MarketDef {
        event_id,
        event_type: d.get("eventTypeId").and_then(flexible_string),
        event_name: text("eventName"),
        market_type,
        market_time: time("marketTime")?,
        status,
        in_play: d.get("inPlay").and_then(Value::as_bool).unwrap_or(false),
        settled_time: time("settledTime")?,
        country: text("countryCode"),
        competition,
        runners,
    })
}

/// Prices available to back: `atb` by price, `batb` by level.
#[derive(Clone, Debug, Default)]
struct Ladder {
    atb: BTreeMap<F64, f64>,
    batb: BTreeMap<i64, (f64, f64)>,
}

impl Ladder {
    /// The highest price with size > 0 (`atb`, else `batb`).
    fn best_back(&self) -> Option<f64> {
        let atb = self
            .atb
            .iter()
            .rev()
            .find(|(_, s)| **s > 0.0)
            .map(|(p, _)| p.0);
        atb.or_else(|| {
            self.batb
                .values()
                .filter(|(_, s)| *s > 0.0)
                .map(|(p, _)| *p)
                .max_by(f64::total_cmp)
        })
    }
}

fn apply_rc(ladders: &mut HashMap<RunnerKey, Ladder>, rc: &Value) -> Result<(), String> {
    let id = rc.get("id").and_then(flexible_u64).ok_or("no runner id")?;
    let hc = match rc.get("hc") {
        None | Some(Value::Null) => 0.0,
        Some(v) => flexible_f64(v).ok_or("unreadable hc")?,
    };
    let ladder = ladders.entry(runner_key(id, hc)).or_default();
    if let Some(atb) = rc.get("atb") {
        for level in atb.as_array().ok_or("atb is not a list")? {
            let pair = level
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or("an atb level is not [price, size]")?;
            let (Some(p), Some(s)) = (pair[0].as_f64(), pair[1].as_f64()) else {
                return Err("an atb level is not numbers".into());
            };
            if !p.is_finite() || !s.is_finite() {
                return Err(format!("atb level [{p}, {s}]"));
            }
            if s <= 0.0 {
                ladder.atb.remove(&F64(p));
            } else {
                ladder.atb.insert(F64(p), s);
            }
        }
    }
    if let Some(batb) = rc.get("batb") {
        for level in batb.as_array().ok_or("batb is not a list")? {
            let l = level
                .as_array()
                .filter(|a| a.len() == 3)
                .ok_or("a batb level is not [level, price, size]")?;
            let (Some(n), Some(p), Some(s)) = (l[0].as_i64(), l[1].as_f64(), l[2].as_f64()) else {
                return Err("a batb level is not numbers".into());
            };
            if s <= 0.0 {
                ladder.batb.remove(&n);
            } else {
                ladder.batb.insert(n, (p, s));
            }
        }
    }
    Ok(())
}

struct StreamMarket {
    def: Option<MarketDef>,
    ladders: HashMap<RunnerKey, Ladder>,
    /// The last `Market` emitted per kind.
    shown: HashMap<MarketKind, (MarketStatus, Phase, Vec<Selection>)>,
    /// The last price emitted per kind and selection.
    prices: HashMap<(MarketKind, Selection), f64>,
    /// Why the market is not imported (reported once, at the end).
    unmapped: Option<String>,
    /// Notes already reported.
    notes: BTreeSet<String>,
    messages: usize,
}

struct StreamEvent {
    event_id: String,
    match_id: MatchId,
    fixture: Fixture,
    /// Home and away selection ids, once known.
    teams: Option<(u64, u64)>,
    in_play: bool,
    /// Which Betfair market provides each kind.
    owners: HashMap<MarketKind, String>,
    /// Settlement time and marks per closed market.
    settled: BTreeMap<String, (EventTime, Vec<Mark>)>,
    /// Home and away would be one team id.
    bad: bool,
    /// The fixture is out (with the event's first imported market).
    announced: bool,
}

#[derive(Default)]
struct StreamState {
    markets: BTreeMap<String, StreamMarket>,
    events: BTreeMap<String, StreamEvent>,
}

/// The messages of a recording, with where each starts.
fn messages(file: &str, text: &str) -> Vec<(String, Result<Value, String>)> {
    let mut out = Vec::new();
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Value>(line);
        if first {
            first = false;
            if let Err(e) = &parsed
                && e.is_eof()
            {
                // A pretty-printed document: read it value by value.
                return document(file, text);
            }
        }
        let loc = format!("{file}:{}", i + 1);
        match parsed {
            Ok(Value::Array(items)) => out.extend(items.into_iter().map(|v| (loc.clone(), Ok(v)))),
            Ok(v) => out.push((loc, Ok(v))),
            Err(e) => out.push((loc, Err(e.to_string()))),
        }
    }
    out
}

fn document(file: &str, text: &str) -> Vec<(String, Result<Value, String>)> {
    let mut out = Vec::new();
    let mut it = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let (mut counted, mut line) = (0, 1);
    loop {
        let start = it.byte_offset();
        line += text
            .get(counted..start)
            .map_or(0, |s| s.matches('\n').count());
        counted = start;
        let loc = format!("{file}:{line}");
        match it.next() {
            None => break,
            Some(Ok(Value::Array(items))) => {
                out.extend(items.into_iter().map(|v| (loc.clone(), Ok(v))))
            }
            Some(Ok(v)) => out.push((loc, Ok(v))),
            Some(Err(e)) => {
                out.push((loc, Err(format!("{e}; the rest of the file is not read"))));
                break;
            }
        }
    }
    out
}

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

/// The ids of the two team runners (draw excluded), in `sortPriority` order.
fn team_runner_ids(def: &MarketDef) -> Vec<u64> {
    let mut ids = Vec::new();
    for r in &def.runners {
        let draw = r.id == DRAW_SELECTION || r.name.as_deref().is_some_and(is_draw_name);
        if !draw && !ids.contains(&r.id) {
            ids.push(r.id);
        }
    }
    ids
}

/// A runner of a mapped market: its key, selection and Betfair status.
type MappedRunner = (RunnerKey, Selection, String);

/// A market definition mapped onto market kinds.
struct Mapped {
    kinds: Vec<(MarketKind, Vec<MappedRunner>)>,
    notes: Vec<String>,
    teams: Option<(u64, u64)>,
}

/// Which team runner is home: by name, else by the selection ids the event already knows, else
/// by `sortPriority`.
fn team_sides(def: &MarketDef, event: &StreamEvent) -> Result<(u64, u64), String> {
    let ids = team_runner_ids(def);
    let [first, second] = ids[..] else {
        return Err(format!("{} team runners, expected 2", ids.len()));
    };
    let name_of = |id: u64| {
        def.runners
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.name.clone())
    };
    if let (Some(a), Some(b)) = (name_of(first), name_of(second))
        && let Some(first_home) = pair_names(
            &a,
            &b,
            &[&event.fixture.home.name],
            &[&event.fixture.away.name],
        )
    {
        return Ok(if first_home {
            (first, second)
        } else {
            (second, first)
        });
    }
    if let Some((h, a)) = event.teams
        && (h, a) == (second, first)
    {
        return Ok((h, a));
    }
    Ok((first, second))
}

fn map_market(def: &MarketDef, event: &StreamEvent) -> Result<Mapped, String> {
    let mut notes = Vec::new();
    let mut teams = None;
    let runner = |r: &RunnerDef, s: Selection| (r.key(), s, r.status.clone());
    let by_name_or_order = |name_sel: fn(&str) -> Option<Selection>,
                            order: [Selection; 2],
                            notes: &mut Vec<String>| {
        let mut v = Vec::new();
        for (i, r) in def.runners.iter().enumerate() {
            let sel = match &r.name {
                Some(n) => name_sel(n),
                None => order.get(i).copied(),
            };
            match sel {
                Some(s) => v.push(runner(r, s)),
                None => notes.push(format!(
                    "runner {} ({}) is not mapped",
                    r.id,
                    r.name.as_deref().unwrap_or("no name")
                )),
            }
        }
        v
    };
    let mut kinds = match def.market_type.as_str() {
        "MATCH_ODDS" => {
            let (h, a) = team_sides(def, event)?;
            teams = Some((h, a));
            let mut v = Vec::new();
            for r in &def.runners {
                let draw = r.id == DRAW_SELECTION || r.name.as_deref().is_some_and(is_draw_name);
                let sel = if draw {
                    Selection::Draw
                } else if r.id == h {
                    Selection::Home
                } else {
                    Selection::Away
                };
                v.push(runner(r, sel));
            }
            vec![(MarketKind::MatchOdds, v)]
        }
        "BOTH_TEAMS_TO_SCORE" => vec![(
            MarketKind::Btts,
            by_name_or_order(
                yes_no_selection,
                [Selection::Yes, Selection::No],
                &mut notes,
            ),
        )],
        "ASIAN_HANDICAP" => {
            let (h, a) = team_sides(def, event)?;
            teams = Some((h, a));
            let mut lines: BTreeMap<Line, Vec<MappedRunner>> = BTreeMap::new();
            for r in &def.runners {
                let (sel, home_line) = if r.id == h {
                    (Selection::Home, r.hc)
                } else if r.id == a {
                    (Selection::Away, -r.hc)
                } else {
                    notes.push(format!("runner {} is neither team", r.id));
                    continue;
                };
                match Line::from_goals(home_line) {
                    Some(line) => lines.entry(line).or_default().push(runner(r, sel)),
                    None => notes.push(format!(
                        "runner {} handicap {} is not a quarter-goal line",
                        r.id, r.hc
                    )),
                }
            }
            lines
                .into_iter()
                .map(|(line, v)| (MarketKind::AsianHandicap { line }, v))
                .collect()
        }
        t => match over_under_line(t) {
            Some(line) => vec![(
                MarketKind::OverUnder { line },
                by_name_or_order(
                    over_under_selection,
                    [Selection::Under, Selection::Over],
                    &mut notes,
                ),
            )],
            None => return Err(format!("market type {t} is not imported")),
        },
    };
    kinds.retain(|(kind, runners)| {
        let mut sels: Vec<Selection> = runners.iter().map(|(_, s, _)| *s).collect();
        sels.sort();
        sels.dedup();
        if sels.len() != runners.len() {
            notes.push(format!(
                "{kind:?}: two runners map to one selection; not imported"
            ));
            return false;
        }
        !runners.is_empty()
    });
    if kinds.is_empty() {
        return Err("no runner could be mapped".into());
    }
    Ok(Mapped {
        kinds,
        notes,
        teams,
    })
}

fn market_status(s: &str) -> Option<MarketStatus> {
    match s {
        "OPEN" => Some(MarketStatus::Open),
        "SUSPENDED" | "INACTIVE" => Some(MarketStatus::Suspended),
        "CLOSED" => Some(MarketStatus::Closed),
        _ => None,
    }
}

fn new_event(def: &MarketDef, pt: EventTime) -> StreamEvent {
    let match_id = stable_id(&["betfair", &def.event_id]);
    let mut teams = None;
    let (home, away) = match def.event_name.as_deref().and_then(split_event_name) {
        Some(pair) => pair,
        None => {
            let ids = team_runner_ids(def);
            match (def.market_type.as_str(), &ids[..]) {
                ("MATCH_ODDS" | "ASIAN_HANDICAP", [h, a]) => {
                    teams = Some((*h, *a));
                    (
                        format!("Betfair selection {h}"),
                        format!("Betfair selection {a}"),
                    )
                }
                _ => (
                    format!("Betfair event {} home", def.event_id),
                    format!("Betfair event {} away", def.event_id),
                ),
            }
        }
    };
    let kickoff = def.market_time.unwrap_or(pt);
    let league = def
        .competition
        .clone()
        .or_else(|| def.country.as_ref().map(|c| format!("Betfair {c}")))
        .unwrap_or_else(|| "Betfair".into());
    let fixture = Fixture {
        version: 0,
        league,
        season: civil_from_days(kickoff.div_euclid(DAY)).0.to_string(),
        kickoff,
        home: TeamRef {
            id: team_id(&home),
            name: home,
        },
        away: TeamRef {
            id: team_id(&away),
            name: away,
        },
        venue: String::new(),
        referee: String::new(),
    };
    StreamEvent {
        event_id: def.event_id.clone(),
        match_id,
        bad: fixture.home.id == fixture.away.id,
        fixture,
        teams,
        in_play: false,
        owners: HashMap::new(),
        settled: BTreeMap::new(),
        announced: false,
    }
}

impl StreamState {
    fn read_file(&mut self, path: &Path, text: &str, out: &mut Out, skipped: &mut Vec<String>) {
        let file = file_label(path);
        for (loc, msg) in messages(&file, text) {
            match msg {
                Ok(v) => self.message(&v, &loc, out, skipped),
                Err(e) => skipped.push(format!("{loc}: not a JSON message ({e})")),
            }
        }
    }

    fn message(&mut self, msg: &Value, loc: &str, out: &mut Out, skipped: &mut Vec<String>) {
        let op = msg.get("op").and_then(Value::as_str).unwrap_or("");
        if op != "mcm" {
            skipped.push(format!(
                "{loc}: op {op:?} is not a market change message (mcm)"
            ));
            return;
        }
        let Some(pt) = msg.get("pt").and_then(Value::as_i64) else {
            skipped.push(format!("{loc}: mcm without a publish time pt"));
            return;
        };
        match msg.get("mc") {
            None | Some(Value::Null) => {} // a heartbeat
            Some(Value::Array(mcs)) => {
                for mc in mcs {
                    self.market_change(mc, pt, loc, out, skipped);
                }
            }
            Some(_) => skipped.push(format!("{loc}: mc is not a list")),
        }
    }

    fn market_change(
        &mut self,
        mc: &Value,
        pt: EventTime,
        loc: &str,
        out: &mut Out,
        skipped: &mut Vec<String>,
    ) {
        let Some(id) = mc.get("id").and_then(flexible_string) else {
            skipped.push(format!("{loc}: a market change without a market id"));
            return;
        };
        let market = self
            .markets
            .entry(id.clone())
            .or_insert_with(|| StreamMarket {
                def: None,
                ladders: HashMap::new(),
                shown: HashMap::new(),
                prices: HashMap::new(),
                unmapped: None,
                notes: BTreeSet::new(),
                messages: 0,
            });
        market.messages += 1;
        let mut moved = false;
        if let Some(d) = mc.get("marketDefinition") {
            match parse_definition(d) {
                Ok(def) => {
                    if let Some(old) = &market.def {
                        moved = old.market_time != def.market_time;
                    }
                    market.def = Some(def);
                }
                Err(e) => skipped.push(format!(
                    "{loc}: market {id}: marketDefinition skipped ({e})"
                )),
            }
        }
        if mc.get("img").and_then(Value::as_bool) == Some(true) {
            market.ladders.clear();
        }
        match mc.get("rc") {
            None | Some(Value::Null) => {}
            Some(Value::Array(rcs)) => {
                for rc in rcs {
                    if let Err(e) = apply_rc(&mut market.ladders, rc) {
                        skipped.push(format!("{loc}: market {id}: runner change skipped ({e})"));
                    }
                }
            }
            Some(_) => skipped.push(format!("{loc}: market {id}: rc is not a list")),
        }
        self.sync(&id, pt, moved, out, skipped);
    }

    /// Emits what changed in a market at `pt`.
    fn sync(
        &mut self,
        market_id: &str,
        pt: EventTime,
        moved: bool,
        out: &mut Out,
        skipped: &mut Vec<String>,
    ) {
        let Some(market) = self.markets.get_mut(market_id) else {
            return;
        };
        let Some(def) = market.def.clone() else {
            return;
        };
        let event = self
            .events
            .entry(def.event_id.clone())
            .or_insert_with(|| new_event(&def, pt));
        if !event.announced {
            // Until its fixture is out, an event takes names and kick-off from the latest
            // definition (a later match-odds market may name the teams by selection).
            *event = new_event(&def, pt);
        } else if moved
            && let Some(t) = def.market_time
            && t != event.fixture.kickoff
        {
            event.fixture.kickoff = t;
            event.fixture.season = civil_from_days(t.div_euclid(DAY)).0.to_string();
            out.push(pt, event.match_id, Body::Fixture(event.fixture.clone()));
        }
        if let Some(t) = &def.event_type
            && t != "1"
        {
            market.unmapped = Some(format!("event type {t} is not soccer (1)"));
            return;
        }
        let Some(status) = market_status(&def.status) else {
            market.unmapped = Some(format!("market status {} is unknown", def.status));
            return;
        };
        let mapped = match map_market(&def, event) {
            Ok(m) => m,
            Err(reason) => {
                market.unmapped = Some(reason);
                return;
            }
        };
        if event.bad {
            market.unmapped = Some(format!(
                "home and away are one team ({})",
                event.fixture.home.name
            ));
            return;
        }
        if !event.announced {
            event.announced = true;
            out.push(pt, event.match_id, Body::Fixture(event.fixture.clone()));
        }
        market.unmapped = None;
        for note in mapped.notes {
            if market.notes.insert(note.clone()) {
                skipped.push(format!(
                    "market {market_id} ({}, event {}): {note}",
                    def.market_type, def.event_id
                ));
            }
        }
        if event.teams.is_none() {
            event.teams = mapped.teams;
        }
        let phase = if def.in_play {
            Phase::InPlay
        } else {
            Phase::Prematch
        };
        if def.in_play && !event.in_play {
            event.in_play = true;
            out.push(pt, event.match_id, status_body(MatchStatus::FirstHalf, 0));
        }
        let mut marks = Vec::new();
        for (kind, runners) in &mapped.kinds {
            match event.owners.get(kind) {
                Some(owner) if owner != market_id => {
                    let note = format!("{kind:?} is already provided by market {owner}");
                    if market.notes.insert(note.clone()) {
                        skipped.push(format!(
                            "market {market_id} ({}, event {}): {note}; skipped",
                            def.market_type, def.event_id
                        ));
                    }
                    continue;
                }
                Some(_) => {}
                None => {
                    event.owners.insert(*kind, market_id.to_string());
                }
            }
            let selections: Vec<Selection> = runners
                .iter()
                .filter(|(_, _, st)| !is_removed(st))
                .map(|(_, s, _)| *s)
                .collect();
            if selections.is_empty() {
                continue;
            }
            let shown = (status, phase, selections.clone());
            if market.shown.get(kind) != Some(&shown) {
                out.push(
                    pt,
                    event.match_id,
                    market_body(*kind, status, phase, selections.clone()),
                );
                market.shown.insert(*kind, shown);
            }
            if status == MarketStatus::Open {
                for (key, sel, st) in runners {
                    if is_removed(st) {
                        continue;
                    }
                    let Some(p) = market.ladders.get(key).and_then(Ladder::best_back) else {
                        continue;
                    };
                    if !valid_price(p) {
                        let note = format!("runner {} best back {p} is not a price > 1", key.0);
                        if market.notes.insert(note.clone()) {
                            skipped.push(format!("market {market_id}: {note}"));
                        }
                        continue;
                    }
                    if market.prices.get(&(*kind, *sel)) != Some(&p) {
                        out.push(pt, event.match_id, odds_body(*kind, *sel, p));
                        market.prices.insert((*kind, *sel), p);
                    }
                }
            }
            if status == MarketStatus::Closed {
                for (_, sel, st) in runners {
                    let won = match st.as_str() {
                        "WINNER" => true,
                        "LOSER" => false,
                        _ => continue,
                    };
                    marks.push(Mark {
                        kind: *kind,
                        selection: *sel,
                        listed: selections.clone(),
                        won,
                    });
                }
            }
        }
        if status == MarketStatus::Closed && !marks.is_empty() {
            let ts = def.settled_time.unwrap_or(pt);
            let changed = event
                .settled
                .get(market_id)
                .is_none_or(|(_, old)| *old != marks);
            if changed {
                event.settled.insert(market_id.to_string(), (ts, marks));
            }
        }
    }

    fn finish(self, out: &mut Out, skipped: &mut Vec<String>) {
        for (id, market) in &self.markets {
            match (&market.def, &market.unmapped) {
                (None, _) => skipped.push(format!(
                    "market {id}: {} message(s) but no marketDefinition in the recording; not imported",
                    market.messages
                )),
                (Some(def), Some(reason)) => skipped.push(format!(
                    "market {id} ({}, event {}): {reason}; {} message(s) skipped",
                    def.market_type, def.event_id, market.messages
                )),
                _ => {}
            }
        }
        for event in self.events.values() {
            if !event.announced || event.settled.is_empty() {
                continue;
            }
            let marks: Vec<Mark> = event
                .settled
                .values()
                .flat_map(|(_, m)| m.iter().cloned())
                .collect();
            let ts = event
                .settled
                .values()
                .map(|(t, _)| *t)
                .max()
                .unwrap_or(event.fixture.kickoff);
            match derive_score(&marks) {
                Some(score) => {
                    out.push(ts, event.match_id, status_body(MatchStatus::Finished, 90 * 60));
                    out.push(ts, event.match_id, result_body(score));
                }
                None => skipped.push(format!(
                    "event {} ({} v {}): no score up to 15-15 agrees with Betfair's WINNER/LOSER marks of markets {}; no result",
                    event.event_id,
                    event.fixture.home.name,
                    event.fixture.away.name,
                    event.settled.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A-League CSVs.

/// The A-League clubs, as names are mapped onto them.
const A_LEAGUE_CLUBS: [&str; 14] = [
    "Adelaide United",
    "Auckland FC",
    "Brisbane Roar",
    "Canberra United",
    "Central Coast Mariners",
    "Macarthur FC",
    "Melbourne City",
    "Melbourne Victory",
    "Newcastle Jets",
    "Perth Glory",
    "Sydney FC",
    "Wellington Phoenix",
    "Western Sydney Wanderers",
    "Western United",
];

/// A team's name: the A-League club it names (the one sharing most leading words, when only
/// one does), else the name as written without a "(W)" suffix; women's teams get " (W)".
fn a_league_team(name: &str, women: bool) -> String {
    let mut best: Option<(u32, &str)> = None;
    let mut tie = false;
    for club in A_LEAGUE_CLUBS {
        let a = affinity(name, club);
        match best {
            _ if a == 0 => {}
            Some((b, _)) if a < b => {}
            Some((b, _)) if a == b => tie = true,
            _ => {
                best = Some((a, club));
                tie = false;
            }
        }
    }
    let base = match best {
        Some((_, club)) if !tie => club.to_string(),
        _ => {
            let n = name.trim();
            let n = match n.rfind('(') {
                Some(i) if !n[i..].contains(')') || n[i..].eq_ignore_ascii_case("(w)") => &n[..i],
                _ => n,
            };
            n.trim().to_string()
        }
    };
    if women { format!("{base} (W)") } else { base }
}

/// "A-League_2020-2021_Match_Odds" → "2020-21".
fn season_of_name(name: &str) -> Option<String> {
    let b = name.as_bytes();
    (0..b.len().saturating_sub(8)).find_map(|i| {
        let w = &b[i..i + 9];
        let digits = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        (digits(0..4) && w[4] == b'-' && digits(5..9))
            .then(|| format!("{}-{}", &name[i..i + 4], &name[i + 7..i + 9]))
    })
}

/// The A-League season of a date: July to June.
fn season_of_time(t: EventTime) -> String {
    let (y, m, _) = civil_from_days(t.div_euclid(DAY));
    let start = if m >= 7 { y } else { y - 1 };
    format!("{start}-{:02}", (start + 1).rem_euclid(100))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CsvKind {
    MatchOdds,
    AllMarkets,
}

/// A market named in an All_Markets file, when imported.
fn csv_market_kind(market_type: &str, market_name: &str) -> Option<MarketKind> {
    let name = market_name.trim();
    match name.to_lowercase().as_str() {
        "match odds" => return Some(MarketKind::MatchOdds),
        "both teams to score?" | "both teams to score" => return Some(MarketKind::Btts),
        "double chance" => return Some(MarketKind::DoubleChance),
        _ => {}
    }
    if let Some(mid) = name
        .strip_prefix("Over/Under ")
        .and_then(|s| s.strip_suffix(" Goals"))
    {
        let line = Line::from_goals(mid.trim().parse::<f64>().ok()?)?;
        return Some(MarketKind::OverUnder { line });
    }
    match market_type.trim() {
        "MATCH_ODDS" => Some(MarketKind::MatchOdds),
        "BOTH_TEAMS_TO_SCORE" => Some(MarketKind::Btts),
        "DOUBLE_CHANCE" => Some(MarketKind::DoubleChance),
        t => over_under_line(t).map(|line| MarketKind::OverUnder { line }),
    }
}

struct CsvRunner {
    loc: String,
    selection_id: String,
    name: String,
    status: String,
    /// Best back price by milliseconds before kick-off, with the priority of its source (a
    /// Match_Odds kick-off price beats an All_Markets 1-min price).
    prices: BTreeMap<EventTime, (f64, u8)>,
    half_time: Option<f64>,
    /// The file kinds that listed this runner.
    seen: Vec<bool>,
}

struct CsvMarket {
    id: String,
    kind: MarketKind,
    runners: Vec<CsvRunner>,
}

impl CsvMarket {
    fn price_count(&self) -> usize {
        self.runners
            .iter()
            .map(|r| r.prices.len() + usize::from(r.half_time.is_some()))
            .sum()
    }
}

struct CsvEvent {
    event_id: String,
    loc: String,
    league: String,
    season: Option<String>,
    /// `EVENT_DATE` at 00:00 UTC.
    date: EventTime,
    /// Kick-off when `EVENT_DATE` carries a time of day (none of the known files does).
    kickoff: Option<EventTime>,
    /// Team names as written, in the event's home/away order.
    home_src: String,
    away_src: String,
    home: String,
    away: String,
    half_time: Option<EventTime>,
    score: Option<Score>,
    score_conflict: Option<String>,
    markets: BTreeMap<String, CsvMarket>,
}

#[derive(Default)]
struct CsvState {
    events: BTreeMap<String, CsvEvent>,
}

/// Column positions of a CSV header.
struct Cols {
    names: Vec<String>,
}

impl Cols {
    fn get(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|h| h == name)
    }
}

fn field(rec: &csv::StringRecord, col: Option<usize>) -> &str {
    col.and_then(|i| rec.get(i)).map_or("", str::trim)
}

/// The two sides of the Betfair event name in a `PATH` ("… / Home v Away / …").
fn path_teams(path: &str) -> Option<(String, String)> {
    path.split('/').find_map(|seg| split_event_name(seg.trim()))
}

fn parse_goals(s: &str) -> Option<u8> {
    let v: f64 = s.trim().parse().ok()?;
    (v.fract() == 0.0 && (0.0..=255.0).contains(&v)).then_some(v as u8)
}

impl CsvState {
    fn read_file(&mut self, path: &Path, text: &str, skipped: &mut Vec<String>) {
        let file = file_label(path);
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let cols = match rdr.headers() {
            Ok(h) => Cols {
                names: h.iter().map(|s| s.trim().to_string()).collect(),
            },
            Err(e) => {
                skipped.push(format!("{file}: unreadable CSV header ({e}); file skipped"));
                return;
            }
        };
        let kind = if cols.get("BEST_BACK_KICK_OFF").is_some() {
            CsvKind::MatchOdds
        } else if cols.get("BEST_BACK_PRICE_1_MIN_PRIOR").is_some() {
            CsvKind::AllMarkets
        } else {
            skipped.push(format!(
                "{file}: neither a Match_Odds (BEST_BACK_KICK_OFF) nor an All_Markets (BEST_BACK_PRICE_1_MIN_PRIOR) file; skipped"
            ));
            return;
        };
        let required = [
            "EVENT_DATE",
            "EVENT_ID",
            "MARKET_ID",
            "RUNNER_NAME",
            "RUNNER_STATUS",
            "HOME_TEAM",
            "AWAY_TEAM",
        ];
        let missing: Vec<&str> = required
            .into_iter()
            .filter(|c| cols.get(c).is_none())
            .collect();
        if !missing.is_empty() {
            skipped.push(format!(
                "{file}: no column {}; file skipped",
                missing.join(", ")
            ));
            return;
        }
        let ht_col = cols.get("HALF_TIME");
        if kind == CsvKind::MatchOdds
            && ht_col.is_none()
            && cols.get("BEST_BACK_PRICE_HALF_TIME").is_some()
        {
            skipped.push(format!(
                "{file}: no HALF_TIME column: the half-time prices of this file have no time and are not imported"
            ));
        }
        let women_file = file.to_lowercase().contains("women");
        let season = season_of_name(&file);
        let mut unmapped: BTreeMap<String, usize> = BTreeMap::new();
        let c = |n: &str| cols.get(n);
        for result in rdr.records() {
            let rec = match result {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    skipped.push(format!("{file}:{line}: unreadable row ({e})"));
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            };
            let loc = format!("{file}:{}", rec.position().map_or(0, |p| p.line()));
            let get = |n: &str| field(&rec, c(n));
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let (event_id, market_id) = (get("EVENT_ID"), get("MARKET_ID"));
            if event_id.is_empty() || market_id.is_empty() {
                skipped.push(format!("{loc}: no EVENT_ID or MARKET_ID; row skipped"));
                continue;
            }
            let (market_type, market_name) = (get("MARKET_TYPE"), get("MARKET_NAME"));
            let market_kind = match kind {
                CsvKind::MatchOdds => {
                    if market_type.is_empty()
                        || market_type == "MATCH_ODDS"
                        || market_name.eq_ignore_ascii_case("match odds")
                    {
                        MarketKind::MatchOdds
                    } else {
                        skipped.push(format!(
                            "{loc}: market type {market_type:?} in a Match_Odds file; row skipped"
                        ));
                        continue;
                    }
                }
                CsvKind::AllMarkets => match csv_market_kind(market_type, market_name) {
                    Some(k) => k,
                    None => {
                        let label = if market_name.is_empty() {
                            market_type
                        } else {
                            market_name
                        };
                        *unmapped.entry(label.to_string()).or_default() += 1;
                        continue;
                    }
                },
            };
            let Some((date, timed)) = parse_time(get("EVENT_DATE")) else {
                skipped.push(format!(
                    "{loc}: unreadable EVENT_DATE {:?}; row skipped",
                    get("EVENT_DATE")
                ));
                continue;
            };
            let (home_col, away_col) = (get("HOME_TEAM"), get("AWAY_TEAM"));
            let runner_name = get("RUNNER_NAME");
            if home_col.is_empty() || away_col.is_empty() || runner_name.is_empty() {
                skipped.push(format!(
                    "{loc}: no HOME_TEAM, AWAY_TEAM or RUNNER_NAME; row skipped"
                ));
                continue;
            }
            let path_col = get("PATH");
            let event = self.events.entry(event_id.to_string()).or_insert_with(|| {
                let women = women_file
                    || ["women", "w-league", "ladies"]
                        .iter()
                        .any(|w| path_col.to_lowercase().contains(w));
                // The event name's order decides home and away.
                let (mut home_src, mut away_src) = (home_col.to_string(), away_col.to_string());
                if let Some((ph, pa)) = path_teams(path_col) {
                    let straight = affinity(&ph, &home_src) + affinity(&pa, &away_src);
                    let swapped = affinity(&ph, &away_src) + affinity(&pa, &home_src);
                    if swapped > straight {
                        std::mem::swap(&mut home_src, &mut away_src);
                    }
                }
                let day = date.div_euclid(DAY) * DAY;
                CsvEvent {
                    event_id: event_id.to_string(),
                    loc: loc.clone(),
                    league: if women { "A-League Women" } else { "A-League" }.into(),
                    season: season.clone(),
                    date: day,
                    kickoff: (timed && date != day).then_some(date),
                    home: a_league_team(&home_src, women),
                    away: a_league_team(&away_src, women),
                    home_src,
                    away_src,
                    half_time: None,
                    score: None,
                    score_conflict: None,
                    markets: BTreeMap::new(),
                }
            });
            if let Some(col) = ht_col {
                let s = field(&rec, Some(col));
                if !s.is_empty() {
                    match parse_time(s) {
                        Some((t, true)) => {
                            event.half_time.get_or_insert(t);
                        }
                        _ => skipped.push(format!(
                            "{loc}: unreadable HALF_TIME {s:?}; half-time time ignored"
                        )),
                    }
                }
            }
            let (hs, as_) = (get("HOME_SCORE"), get("AWAY_SCORE"));
            if !hs.is_empty() || !as_.is_empty() {
                match (parse_goals(hs), parse_goals(as_)) {
                    (Some(home), Some(away)) => {
                        let s = Score { home, away };
                        match event.score {
                            None => event.score = Some(s),
                            Some(old) if old != s => {
                                event.score_conflict.get_or_insert(format!(
                                    "{loc}: score {home}-{away} differs from {}-{} on an earlier row",
                                    old.home, old.away
                                ));
                            }
                            _ => {}
                        }
                    }
                    _ => skipped.push(format!(
                        "{loc}: unreadable score {hs:?}-{as_:?}; score ignored"
                    )),
                }
            }
            let market = event
                .markets
                .entry(market_id.to_string())
                .or_insert_with(|| CsvMarket {
                    id: market_id.to_string(),
                    kind: market_kind,
                    runners: Vec::new(),
                });
            if market.kind != market_kind {
                skipped.push(format!(
                    "{loc}: market {market_id} was {:?} on an earlier row; row skipped",
                    market.kind
                ));
                continue;
            }
            let selection_id = get("SELECTION_ID");
            let kind_index = usize::from(kind == CsvKind::AllMarkets);
            let existing = market.runners.iter().position(|r| {
                if selection_id.is_empty() {
                    r.name == runner_name
                } else {
                    r.selection_id == selection_id
                }
            });
            let idx = match existing {
                Some(i) if market.runners[i].seen[kind_index] => {
                    skipped.push(format!(
                        "{loc}: runner {runner_name} of market {market_id} listed twice; row skipped"
                    ));
                    continue;
                }
                Some(i) => i,
                None => {
                    market.runners.push(CsvRunner {
                        loc: loc.clone(),
                        selection_id: selection_id.to_string(),
                        name: runner_name.to_string(),
                        status: get("RUNNER_STATUS").to_string(),
                        prices: BTreeMap::new(),
                        half_time: None,
                        seen: vec![false, false],
                    });
                    market.runners.len() - 1
                }
            };
            let runner = &mut market.runners[idx];
            runner.seen[kind_index] = true;
            let mut price = |col: &str| -> Option<f64> {
                let s = get(col);
                if s.is_empty() {
                    return None;
                }
                match s.parse::<f64>() {
                    Ok(p) if valid_price(p) => Some(p),
                    _ => {
                        skipped.push(format!(
                            "{loc}: {col} {s:?} is not a price > 1; price skipped"
                        ));
                        None
                    }
                }
            };
            let set = |runner: &mut CsvRunner, before: EventTime, p: Option<f64>, prio: u8| {
                if let Some(p) = p {
                    match runner.prices.get(&before) {
                        Some((_, old)) if *old > prio => {}
                        _ => {
                            runner.prices.insert(before, (p, prio));
                        }
                    }
                }
            };
            match kind {
                CsvKind::MatchOdds => {
                    set(runner, MINUTE, price("BEST_BACK_KICK_OFF"), 2);
                    if let Some(p) = price("BEST_BACK_PRICE_HALF_TIME") {
                        runner.half_time = Some(p);
                    }
                }
                CsvKind::AllMarkets => {
                    set(
                        runner,
                        60 * MINUTE,
                        price("BEST_BACK_PRICE_60_MIN_PRIOR"),
                        1,
                    );
                    set(
                        runner,
                        30 * MINUTE,
                        price("BEST_BACK_PRICE_30_MIN_PRIOR"),
                        1,
                    );
                    set(runner, MINUTE, price("BEST_BACK_PRICE_1_MIN_PRIOR"), 1);
                }
            }
        }
        for (name, rows) in unmapped {
            skipped.push(format!(
                "{file}: {rows} row(s) of market {name:?} skipped: market type not imported"
            ));
        }
    }

    fn finish(self, out: &mut Out, skipped: &mut Vec<String>) {
        for event in self.events.values() {
            emit_csv_event(event, out, skipped);
        }
    }
}

/// The selection of a runner of an A-League market, or why none.
fn csv_selection(
    kind: MarketKind,
    runner: &CsvRunner,
    home_runner: Option<usize>,
    idx: usize,
) -> Result<Selection, String> {
    let name = runner.name.as_str();
    match kind {
        MarketKind::MatchOdds => {
            if runner.selection_id == DRAW_SELECTION.to_string() || is_draw_name(name) {
                Ok(Selection::Draw)
            } else {
                match home_runner {
                    Some(h) if h == idx => Ok(Selection::Home),
                    Some(_) => Ok(Selection::Away),
                    None => Err("the team runners' names do not tell home from away".into()),
                }
            }
        }
        MarketKind::Btts => yes_no_selection(name).ok_or_else(|| "not Yes or No".into()),
        MarketKind::OverUnder { .. } => {
            over_under_selection(name).ok_or_else(|| "not Over or Under".into())
        }
        MarketKind::DoubleChance => match name.to_lowercase().as_str() {
            "home or draw" => Ok(Selection::HomeOrDraw),
            "draw or away" => Ok(Selection::DrawOrAway),
            "home or away" => Ok(Selection::HomeOrAway),
            _ => Err("not a double-chance selection".into()),
        },
        _ => Err("market not imported".into()),
    }
}

fn emit_csv_event(event: &CsvEvent, out: &mut Out, skipped: &mut Vec<String>) {
    let mid = stable_id(&["betfair", &event.event_id]);
    let label = format!("event {} ({} v {})", event.event_id, event.home, event.away);
    let kickoff = event
        .kickoff
        .or(event
            .half_time
            .map(|t| (t - 60 * MINUTE).div_euclid(MINUTE) * MINUTE))
        .unwrap_or(event.date);
    let end = kickoff + 120 * MINUTE;
    let half_time = event.half_time.filter(|t| *t > kickoff && *t < end);
    let (home, away) = (team_id(&event.home), team_id(&event.away));
    if home == away {
        skipped.push(format!(
            "{}: {label}: home and away are one team; nothing imported",
            event.loc
        ));
        return;
    }
    out.push(
        kickoff - 90 * MINUTE,
        mid,
        Body::Fixture(Fixture {
            version: 0,
            league: event.league.clone(),
            season: event
                .season
                .clone()
                .unwrap_or_else(|| season_of_time(kickoff)),
            kickoff,
            home: TeamRef {
                id: home,
                name: event.home.clone(),
            },
            away: TeamRef {
                id: away,
                name: event.away.clone(),
            },
            venue: String::new(),
            referee: String::new(),
        }),
    );
    // One market per kind: the one with most prices (ties: the first listed).
    let mut chosen: BTreeMap<MarketKind, &CsvMarket> = BTreeMap::new();
    for m in event.markets.values() {
        match chosen.get(&m.kind) {
            Some(c) if c.price_count() >= m.price_count() => {}
            _ => {
                chosen.insert(m.kind, m);
            }
        }
    }
    for m in event.markets.values() {
        if let Some(c) = chosen.get(&m.kind)
            && c.id != m.id
        {
            for r in &m.runners {
                skipped.push(format!(
                    "{}: {label}: market {} is a second {:?} market (market {} kept); row skipped",
                    r.loc, m.id, m.kind, c.id
                ));
            }
        }
    }
    let score_facts = event.score.map(facts);
    let mut result_ok = event.score.is_some() && event.score_conflict.is_none();
    out.push(kickoff, mid, status_body(MatchStatus::FirstHalf, 0));
    if let Some(ht) = half_time {
        out.push(ht, mid, status_body(MatchStatus::HalfTime, 45 * 60));
    }
    for (kind, market) in &chosen {
        let kind = *kind;
        // Runners → selections.
        let home_runner = if kind == MarketKind::MatchOdds {
            let teams: Vec<usize> = market
                .runners
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    !(r.selection_id == DRAW_SELECTION.to_string() || is_draw_name(&r.name))
                })
                .map(|(i, _)| i)
                .collect();
            match teams[..] {
                [a, b] => pair_names(
                    &market.runners[a].name,
                    &market.runners[b].name,
                    &[&event.home, &event.home_src],
                    &[&event.away, &event.away_src],
                )
                .map(|first_home| if first_home { a } else { b }),
                _ => None,
            }
        } else {
            None
        };
        let mut mapped: Vec<(Selection, &CsvRunner)> = Vec::new();
        for (i, r) in market.runners.iter().enumerate() {
            match csv_selection(kind, r, home_runner, i) {
                Ok(s) if mapped.iter().any(|(x, _)| *x == s) => skipped.push(format!(
                    "{}: {label}: runner {} is a second {s:?} of market {}; row skipped",
                    r.loc, r.name, market.id
                )),
                Ok(s) => mapped.push((s, r)),
                Err(why) => {
                    skipped.push(format!(
                        "{}: {label}: runner {} of market {} not mapped ({why}); row skipped",
                        r.loc, r.name, market.id
                    ));
                    if kind == MarketKind::MatchOdds {
                        result_ok = false;
                    }
                }
            }
        }
        if mapped.is_empty() {
            continue;
        }
        let selections: Vec<Selection> = mapped.iter().map(|(s, _)| *s).collect();
        let offsets: BTreeSet<EventTime> = mapped
            .iter()
            .flat_map(|(_, r)| r.prices.keys().copied())
            .collect();
        let open = kickoff - offsets.last().copied().unwrap_or(MINUTE);
        out.push(
            open,
            mid,
            market_body(
                kind,
                MarketStatus::Open,
                Phase::Prematch,
                selections.clone(),
            ),
        );
        let mut last: HashMap<Selection, f64> = HashMap::new();
        for before in offsets.iter().rev() {
            for (s, r) in &mapped {
                if let Some((p, _)) = r.prices.get(before)
                    && last.get(s) != Some(p)
                {
                    out.push(kickoff - before, mid, odds_body(kind, *s, *p));
                    last.insert(*s, *p);
                }
            }
        }
        out.push(
            kickoff,
            mid,
            market_body(
                kind,
                MarketStatus::Suspended,
                Phase::Prematch,
                selections.clone(),
            ),
        );
        // A market closes in the phase it was last shown in.
        let mut closed_phase = Phase::Prematch;
        if kind == MarketKind::MatchOdds {
            let complete = mapped.iter().all(|(_, r)| r.half_time.is_some());
            let any = mapped.iter().any(|(_, r)| r.half_time.is_some());
            match half_time {
                Some(ht) if complete => {
                    closed_phase = Phase::InPlay;
                    out.push(
                        ht,
                        mid,
                        market_body(kind, MarketStatus::Open, Phase::InPlay, selections.clone()),
                    );
                    for (s, r) in &mapped {
                        if let Some(p) = r.half_time {
                            out.push(ht, mid, odds_body(kind, *s, p));
                        }
                    }
                    out.push(
                        ht + MINUTE,
                        mid,
                        market_body(
                            kind,
                            MarketStatus::Suspended,
                            Phase::InPlay,
                            selections.clone(),
                        ),
                    );
                }
                Some(_) => skipped.push(format!(
                    "{}: {label}: half-time prices missing for {} of {} runners; no in-play snapshot",
                    event.loc,
                    mapped.iter().filter(|(_, r)| r.half_time.is_none()).count(),
                    mapped.len()
                )),
                None if any && event.half_time.is_some() => skipped.push(format!(
                    "{}: {label}: HALF_TIME outside the estimated match; no in-play snapshot",
                    event.loc
                )),
                None => {}
            }
        }
        out.push(
            end,
            mid,
            market_body(kind, MarketStatus::Closed, closed_phase, selections.clone()),
        );
        // Betfair's settlement must agree with the score.
        if let (Some(f), Some(score)) = (&score_facts, event.score) {
            for (s, r) in &mapped {
                let expected = match r.status.as_str() {
                    "WINNER" => Outcome::Won,
                    "LOSER" => Outcome::Lost,
                    _ => continue,
                };
                let got = settle(kind, *s, &selections, f);
                if got != Ok(expected) {
                    result_ok = false;
                    skipped.push(format!(
                        "{}: {label}: runner {} ({s:?} of {kind:?}) is marked {} but the score {}-{} settles it {}; row skipped, no result for this event",
                        r.loc,
                        r.name,
                        r.status,
                        score.home,
                        score.away,
                        got.map_or_else(|e| e.to_string(), |o| format!("{o:?}"))
                    ));
                }
            }
        }
    }
    out.push(end, mid, status_body(MatchStatus::Finished, 90 * 60));
    match (event.score, &event.score_conflict) {
        (None, _) => skipped.push(format!(
            "{}: {label}: no readable final score (HOME_SCORE/AWAY_SCORE empty or not whole numbers); no result",
            event.loc
        )),
        (Some(_), Some(conflict)) => {
            skipped.push(format!("{conflict}; {label}: no result"));
        }
        (Some(score), None) if result_ok => out.push(end, mid, result_body(score)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/real/betfair")
            .join(name)
    }

    fn run(paths: &[PathBuf]) -> Imported<BetfairReport> {
        let imp = import(paths).expect("import");
        check_feed(&imp.records);
        imp
    }

    /// What ingest requires of any feed: a fixture at or before every record of its match,
    /// versions growing with time per key, prices > 1, markets listing distinct selections.
    fn check_feed(records: &[Record]) {
        let mut fixture_at: HashMap<MatchId, EventTime> = HashMap::new();
        let mut last: HashMap<_, (EventTime, Version)> = HashMap::new();
        let mut prev_ts = EventTime::MIN;
        for r in records {
            assert!(r.ts >= prev_ts, "records in time order");
            prev_ts = r.ts;
            assert!(r.ts >= 0 && r.version() > 0, "{r:?}");
            if let Body::Fixture(f) = &r.body {
                fixture_at.entry(r.match_id).or_insert(r.ts);
                assert_ne!(f.home.id, f.away.id);
            }
            let at = fixture_at.get(&r.match_id);
            assert!(at.is_some_and(|t| *t <= r.ts), "no fixture before {r:?}");
            if let Some((ts, v)) = last.insert(r.key(), (r.ts, r.version())) {
                assert!(ts <= r.ts && v < r.version(), "versions of {:?}", r.key());
            }
            match &r.body {
                Body::Odds(o) => {
                    assert!(o.price.0.is_finite() && o.price.0 > 1.0, "{r:?}");
                    assert!(!o.modelled);
                }
                Body::Market(m) => {
                    let mut s = m.selections.clone();
                    s.sort();
                    s.dedup();
                    assert!(!s.is_empty() && s.len() == m.selections.len(), "{r:?}");
                }
                _ => {}
            }
        }
    }

    fn of_match(records: &[Record], m: MatchId) -> Vec<&Record> {
        records.iter().filter(|r| r.match_id == m).collect()
    }

    fn markets(records: &[&Record], kind: MarketKind) -> Vec<(EventTime, Market)> {
        records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Market(m) if m.market == kind => Some((r.ts, m.clone())),
                _ => None,
            })
            .collect()
    }

    fn odds_at(records: &[&Record], kind: MarketKind, ts: EventTime) -> BTreeMap<Selection, f64> {
        records
            .iter()
            .filter(|r| r.ts == ts)
            .filter_map(|r| match &r.body {
                Body::Odds(o) if o.market == kind => Some((o.selection, o.price.0)),
                _ => None,
            })
            .collect()
    }

    fn results(records: &[&Record]) -> Vec<(EventTime, MatchResult)> {
        records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Result(x) => Some((r.ts, *x)),
                _ => None,
            })
            .collect()
    }

    fn fixtures(records: &[&Record]) -> Vec<Fixture> {
        records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Fixture(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    fn betfair_id(event: &str) -> MatchId {
        stable_id(&["betfair", event])
    }

    /// Plays a recording's `atb` deltas (no market state): the best back price of every runner
    /// after each message, by publish time.
    fn source_best_backs(path: &Path) -> HashMap<EventTime, Vec<f64>> {
        let text = read_text(path).unwrap();
        let mut ladders: HashMap<(String, u64, String), BTreeMap<F64, f64>> = HashMap::new();
        let mut best: HashMap<EventTime, Vec<f64>> = HashMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let msg: Value = serde_json::from_str(line).unwrap();
            let pt = msg["pt"].as_i64().unwrap();
            for mc in msg["mc"].as_array().into_iter().flatten() {
                let market = mc["id"].as_str().unwrap().to_string();
                if mc["img"].as_bool() == Some(true) {
                    ladders.retain(|k, _| k.0 != market);
                }
                for rc in mc["rc"].as_array().into_iter().flatten() {
                    let key = (
                        market.clone(),
                        rc["id"].as_u64().unwrap(),
                        rc.get("hc").map(|h| h.to_string()).unwrap_or_default(),
                    );
                    let l = ladders.entry(key).or_default();
                    for lv in rc["atb"].as_array().into_iter().flatten() {
                        let (p, s) = (lv[0].as_f64().unwrap(), lv[1].as_f64().unwrap());
                        if s == 0.0 {
                            l.remove(&F64(p));
                        } else {
                            l.insert(F64(p), s);
                        }
                    }
                }
            }
            let v = best.entry(pt).or_default();
            v.extend(
                ladders
                    .values()
                    .filter_map(|l| l.keys().next_back().map(|p| p.0)),
            );
        }
        best
    }

    #[test]
    fn btts_recording_opens_suspends_closes_and_settles_as_betfair_marked_it() {
        let path = fixture("mzaja_betfair_database__1.145405534.bz2");
        let imp = run(std::slice::from_ref(&path));
        assert!(imp.report.skipped.is_empty(), "{:#?}", imp.report.skipped);
        assert_eq!(
            (
                imp.report.files,
                imp.report.events,
                imp.report.markets,
                imp.report.results
            ),
            (1, 1, 1, 1)
        );
        let recs = of_match(&imp.records, betfair_id("28796969"));
        assert_eq!(recs.len(), imp.records.len());
        // The fixture follows the market's move from 15:30 to 17:30.
        let fx = fixtures(&recs);
        assert_eq!(fx.len(), 2);
        let f = fx.last().unwrap();
        assert_eq!(f.kickoff, utc_ms(2018, 7, 22, 17, 30, 0));
        assert_eq!(fx[0].kickoff, utc_ms(2018, 7, 22, 15, 30, 0));
        assert_eq!(
            (f.home.name.as_str(), f.away.name.as_str()),
            ("Slavia Sofia", "Beroe Stara Za")
        );
        assert_eq!(f.home.id, team_id("Slavia Sofia"));
        assert_eq!(
            (f.league.as_str(), f.season.as_str()),
            ("Betfair BG", "2018")
        );

        let m = markets(&recs, MarketKind::Btts);
        let states: Vec<(MarketStatus, Phase)> =
            m.iter().map(|(_, m)| (m.status, m.phase)).collect();
        assert_eq!(
            states,
            [
                (MarketStatus::Open, Phase::Prematch),
                (MarketStatus::Suspended, Phase::Prematch),
                (MarketStatus::Closed, Phase::Prematch)
            ]
        );
        assert!(
            m.iter()
                .all(|(_, m)| m.selections == [Selection::Yes, Selection::No])
        );
        assert_eq!(m[1].0, 1_532_278_005_989, "suspended at the message's pt");

        // Settled at settledTime with the smallest score where both teams scored.
        let res = results(&recs);
        assert_eq!(res.len(), 1);
        let (ts, result) = res[0];
        assert_eq!(ts, utc_ms(2018, 7, 22, 19, 13, 28));
        assert_eq!(result.full_time, Score { home: 1, away: 1 });
        let facts = MatchFacts {
            full_time: result.full_time,
            corners: result.corners,
            goals: vec![],
            abandoned: false,
        };
        let listed = [Selection::Yes, Selection::No];
        assert_eq!(
            settle(MarketKind::Btts, Selection::Yes, &listed, &facts),
            Ok(Outcome::Won),
            "Yes was marked WINNER"
        );
        assert_eq!(
            settle(MarketKind::Btts, Selection::No, &listed, &facts),
            Ok(Outcome::Lost),
            "No was marked LOSER"
        );
        assert!(recs.iter().any(|r| r.ts == ts
            && matches!(r.body, Body::Status(s) if s.status == MatchStatus::Finished)));
    }

    #[test]
    fn stream_odds_are_best_back_prices_of_the_source_at_that_time() {
        for name in [
            "mzaja_betfair_database__1.145405534.bz2",
            "limx0_betfair_parser__1.242971311.head100.bz2",
        ] {
            let path = fixture(name);
            let imp = run(std::slice::from_ref(&path));
            let best = source_best_backs(&path);
            let mut n = 0;
            for r in &imp.records {
                if let Body::Odds(o) = &r.body {
                    n += 1;
                    let at = best.get(&r.ts).map(Vec::as_slice).unwrap_or(&[]);
                    assert!(
                        at.contains(&o.price.0),
                        "{name}: {r:?} is no runner's best back at {}",
                        r.ts
                    );
                }
            }
            assert!(n > 10, "{name}: {n} odds");
            assert_eq!(n, imp.report.odds);
        }
        // Exactly: the Yes runner's best back, each change while the market is open.
        let path = fixture("mzaja_betfair_database__1.145405534.bz2");
        let imp = run(std::slice::from_ref(&path));
        let text = read_text(&path).unwrap();
        let mut ladder: BTreeMap<F64, f64> = BTreeMap::new();
        let mut open = false;
        let mut expected = Vec::new();
        for line in text.lines() {
            let msg: Value = serde_json::from_str(line).unwrap();
            for mc in msg["mc"].as_array().into_iter().flatten() {
                if let Some(st) = mc["marketDefinition"]["status"].as_str() {
                    open = st == "OPEN";
                }
                for rc in mc["rc"].as_array().into_iter().flatten() {
                    if rc["id"].as_u64() != Some(30246) {
                        continue;
                    }
                    for lv in rc["atb"].as_array().into_iter().flatten() {
                        let (p, s) = (lv[0].as_f64().unwrap(), lv[1].as_f64().unwrap());
                        if s == 0.0 {
                            ladder.remove(&F64(p));
                        } else {
                            ladder.insert(F64(p), s);
                        }
                    }
                }
            }
            let b = ladder.keys().next_back().map(|p| p.0);
            if open
                && let Some(b) = b
                && expected.last() != Some(&b)
            {
                expected.push(b);
            }
        }
        let got: Vec<f64> = imp
            .records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Odds(o) if o.selection == Selection::Yes => Some(o.price.0),
                _ => None,
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn nameless_recording_maps_match_odds_and_every_asian_handicap_line() {
        let path = fixture("limx0_betfair_parser__1.242971311.head100.bz2");
        let imp = run(std::slice::from_ref(&path));
        let text = read_text(&path).unwrap();
        let mut events = BTreeSet::new();
        for line in text.lines() {
            let msg: Value = serde_json::from_str(line).unwrap();
            for mc in msg["mc"].as_array().into_iter().flatten() {
                if let Some(e) = mc["marketDefinition"]["eventId"].as_str() {
                    events.insert(e.to_string());
                }
            }
        }
        assert_eq!(imp.report.events, events.len());
        assert_eq!(
            imp.report.results, 0,
            "nothing settles in a prematch recording"
        );
        for r in &imp.records {
            if let Body::Market(m) = &r.body {
                assert_eq!(m.status, MarketStatus::Open);
                assert_eq!(m.phase, Phase::Prematch);
                match m.market {
                    MarketKind::MatchOdds => assert_eq!(
                        m.selections,
                        [Selection::Home, Selection::Away, Selection::Draw]
                    ),
                    MarketKind::AsianHandicap { .. } => {
                        assert_eq!(m.selections, [Selection::Home, Selection::Away])
                    }
                    k => panic!("unexpected {k:?}"),
                }
            }
        }
        // Event 34258638: teams named by their selection ids (home = sortPriority 1), 33 lines
        // from -4 to +4 for the home side.
        let recs = of_match(&imp.records, betfair_id("34258638"));
        let f = &fixtures(&recs)[0];
        assert_eq!(f.home.name, "Betfair selection 9163");
        assert_eq!(f.away.name, "Betfair selection 10779");
        assert_eq!(f.kickoff, utc_ms(2025, 5, 9, 19, 0, 0));
        assert_eq!(
            (f.league.as_str(), f.season.as_str()),
            ("Betfair ES", "2025")
        );
        let lines: BTreeSet<Line> = recs
            .iter()
            .filter_map(|r| match &r.body {
                Body::Market(Market {
                    market: MarketKind::AsianHandicap { line },
                    ..
                }) => Some(*line),
                _ => None,
            })
            .collect();
        assert_eq!(lines.len(), 33);
        assert_eq!(lines.first(), Line::from_goals(-4.0).as_ref());
        assert_eq!(lines.last(), Line::from_goals(4.0).as_ref());
        assert!(!markets(&recs, MarketKind::MatchOdds).is_empty());
    }

    #[test]
    fn stream_deltas_images_removals_in_play_and_settlement() {
        let dir = tempfile::tempdir().unwrap();
        let def = |status: &str, in_play: bool, b: &str, settled: &str| {
            format!(
                r#"{{"eventId":"77","eventName":"Alpha v Beta","marketType":"MATCH_ODDS","marketTime":"2024-03-02T15:00:00.000Z","status":"{status}","inPlay":{in_play},"countryCode":"GB","runners":[{{"id":1,"name":"Alpha","status":"{a}","sortPriority":1}},{{"id":2,"name":"Beta","status":"{b}","sortPriority":2}},{{"id":58805,"name":"The Draw","status":"{d}","sortPriority":3}}]{settled}}}"#,
                a = if status == "CLOSED" {
                    "WINNER"
                } else {
                    "ACTIVE"
                },
                d = if status == "CLOSED" {
                    "LOSER"
                } else {
                    "ACTIVE"
                },
            )
        };
        let ou = |status: &str, over: &str, under: &str| {
            format!(
                r#"{{"eventId":"77","eventName":"Alpha v Beta","marketType":"OVER_UNDER_25","marketTime":"2024-03-02T15:00:00.000Z","status":"{status}","inPlay":true,"runners":[{{"id":47972,"name":"Under 2.5 Goals","status":"{under}","sortPriority":1}},{{"id":47973,"name":"Over 2.5 Goals","status":"{over}","sortPriority":2}}]}}"#
            )
        };
        let lines = [
            format!(
                r#"{{"op":"mcm","pt":1000,"mc":[{{"id":"1.1","img":true,"marketDefinition":{},"rc":[{{"id":1,"atb":[[2.0,10],[2.1,5]]}},{{"id":2,"atb":[[3.5,4]]}},{{"id":58805,"atb":[[3.3,2]]}}]}}]}}"#,
                def("OPEN", false, "ACTIVE", "")
            ),
            r#"{"op":"mcm","pt":2000,"mc":[{"id":"1.1","rc":[{"id":1,"atb":[[2.1,0]]}]}]}"#.into(),
            r#"{"op":"mcm","pt":3000,"mc":[{"id":"1.1","img":true,"rc":[{"id":1,"atb":[[3.0,1]]}]}]}"#.into(),
            r#"{"op":"mcm","pt":4000,"mc":[{"id":"1.1","rc":[{"id":1,"atb":[[3.0,0]]}]}]}"#.into(),
            "this is not json".into(),
            r#"{"op":"status","id":1,"statusCode":"SUCCESS"}"#.into(),
            r#"{"op":"mcm","pt":4500,"mc":[{"id":"1.9","marketDefinition":{"eventId":"77","eventName":"Alpha v Beta","marketType":"CORRECT_SCORE","status":"OPEN","inPlay":false,"runners":[{"id":9,"name":"1 - 0"}]}}]}"#.into(),
            r#"{"op":"mcm","pt":4600,"mc":[{"id":"1.8","marketDefinition":{"eventId":"99","eventTypeId":"7","eventName":"Horse v Cart","marketType":"WIN","status":"OPEN","inPlay":false,"runners":[{"id":5}]}}]}"#.into(),
            format!(
                r#"{{"op":"mcm","pt":5000,"mc":[{{"id":"1.1","marketDefinition":{},"rc":[{{"id":1,"atb":[[2.2,1]]}}]}}]}}"#,
                def("OPEN", false, "REMOVED", "")
            ),
            format!(
                r#"{{"op":"mcm","pt":6000,"mc":[{{"id":"1.1","marketDefinition":{}}},{{"id":"1.2","marketDefinition":{},"rc":[{{"id":47973,"atb":[[1.9,3]]}}]}}]}}"#,
                def("OPEN", true, "REMOVED", ""),
                ou("OPEN", "ACTIVE", "ACTIVE")
            ),
            format!(
                r#"{{"op":"mcm","pt":9000,"mc":[{{"id":"1.2","marketDefinition":{}}}]}}"#,
                ou("CLOSED", "WINNER", "LOSER")
            ),
            format!(
                r#"{{"op":"mcm","pt":9500,"mc":[{{"id":"1.1","marketDefinition":{}}}]}}"#,
                def("CLOSED", true, "REMOVED", r#","settledTime":"2024-03-02T17:00:00.000Z""#)
            ),
        ];
        let path = dir.path().join("synthetic.jsonl");
        std::fs::write(&path, lines.join("\n")).unwrap();
        let imp = run(std::slice::from_ref(&path));
        let recs: Vec<&Record> = imp.records.iter().collect();
        let home: Vec<(EventTime, f64)> = recs
            .iter()
            .filter_map(|r| match &r.body {
                Body::Odds(o)
                    if o.market == MarketKind::MatchOdds && o.selection == Selection::Home =>
                {
                    Some((r.ts, o.price.0))
                }
                _ => None,
            })
            .collect();
        // 2.1 best; 2.1 removed → 2.0; image → 3.0; 3.0 removed → empty (the 2.0 of before the
        // image is gone); 2.2.
        assert_eq!(home, [(1000, 2.1), (2000, 2.0), (3000, 3.0), (5000, 2.2)]);
        let mo = markets(&recs, MarketKind::MatchOdds);
        let seen: Vec<(EventTime, MarketStatus, Phase, usize)> = mo
            .iter()
            .map(|(t, m)| (*t, m.status, m.phase, m.selections.len()))
            .collect();
        assert_eq!(
            seen,
            [
                (1000, MarketStatus::Open, Phase::Prematch, 3),
                (5000, MarketStatus::Open, Phase::Prematch, 2),
                (6000, MarketStatus::Open, Phase::InPlay, 2),
                (9500, MarketStatus::Closed, Phase::InPlay, 2),
            ]
        );
        assert_eq!(mo[1].1.selections, [Selection::Home, Selection::Draw]);
        assert!(recs.iter().any(|r| r.ts == 6000
            && matches!(r.body, Body::Status(s) if s.status == MatchStatus::FirstHalf && s.clock_s == 0)));
        let line = Line::from_goals(2.5).unwrap();
        let over = markets(&recs, MarketKind::OverUnder { line });
        assert_eq!(over[0].1.selections, [Selection::Under, Selection::Over]);
        assert_eq!(
            odds_at(&recs, MarketKind::OverUnder { line }, 6000),
            BTreeMap::from([(Selection::Over, 1.9)])
        );
        // Home won and over 2.5: 2-1 is the smallest such score; the result comes at the last
        // settlement (17:00, after the over/under's pt 9000).
        assert_eq!(
            results(&recs),
            [(
                utc_ms(2024, 3, 2, 17, 0, 0),
                MatchResult {
                    version: results(&recs)[0].1.version,
                    half_time: Score::default(),
                    full_time: Score { home: 2, away: 1 },
                    corners: None
                }
            )]
        );
        let sk = &imp.report.skipped;
        assert_eq!(sk.len(), 4, "{sk:#?}");
        assert!(
            sk.iter()
                .any(|s| s.contains("1.8") && s.contains("event type 7 is not soccer"))
        );
        assert!(
            of_match(&imp.records, betfair_id("99")).is_empty(),
            "no fixture for an event without an imported market"
        );
        assert!(
            sk.iter()
                .any(|s| s.contains("synthetic.jsonl:5") && s.contains("not a JSON"))
        );
        assert!(
            sk.iter()
                .any(|s| s.contains("synthetic.jsonl:6") && s.contains("\"status\""))
        );
        assert!(
            sk.iter()
                .any(|s| s.contains("1.9") && s.contains("CORRECT_SCORE is not imported"))
        );

        // A pretty-printed message (string ids, batb levels) reads the same.
        let pretty = r#"{
  "op": "mcm", "pt": 100,
  "mc": [ { "id": "1.5",
    "marketDefinition": { "eventId": "88", "eventName": "Gamma v Delta", "marketType": "BOTH_TEAMS_TO_SCORE",
      "status": "OPEN", "inPlay": false, "runners": [ {"id": 30246, "name": "Yes"}, {"id": 110503, "name": "No"} ] },
    "rc": [ { "id": "30246", "batb": [[0, 1.8, 10], [1, 1.7, 5]] } ] } ]
}"#;
        let path = dir.path().join("pretty.json");
        std::fs::write(&path, pretty).unwrap();
        let imp = run(&[path]);
        let recs: Vec<&Record> = imp.records.iter().collect();
        assert_eq!(
            odds_at(&recs, MarketKind::Btts, 100),
            BTreeMap::from([(Selection::Yes, 1.8)])
        );
        assert!(imp.report.skipped.is_empty(), "{:?}", imp.report.skipped);
    }

    #[test]
    fn smallest_score_consistent_with_every_mark() {
        let mark = |kind, selection, won| Mark {
            kind,
            selection,
            listed: vec![],
            won,
        };
        let s = |h, a| Some(Score { home: h, away: a });
        use Selection::{Away, Draw, Home, No, Over, Under, Yes};
        let ou = |g: f64| MarketKind::OverUnder {
            line: Line::from_goals(g).unwrap(),
        };
        assert_eq!(derive_score(&[mark(MarketKind::Btts, Yes, true)]), s(1, 1));
        assert_eq!(derive_score(&[mark(MarketKind::Btts, No, true)]), s(0, 0));
        assert_eq!(
            derive_score(&[
                mark(MarketKind::Btts, No, true),
                mark(MarketKind::MatchOdds, Home, true),
                mark(MarketKind::MatchOdds, Draw, false),
            ]),
            s(1, 0)
        );
        assert_eq!(
            derive_score(&[
                mark(MarketKind::Btts, Yes, true),
                mark(MarketKind::MatchOdds, Away, true),
                mark(ou(3.5), Over, true),
            ]),
            s(1, 3)
        );
        // Home -1.75 with home winning: LOSER at a one-goal win (both halves, -1.5 and -2,
        // lost), WINNER from a two-goal win (half won: -1.5 won, -2 void).
        let ah = MarketKind::AsianHandicap {
            line: Line::from_goals(-1.75).unwrap(),
        };
        assert_eq!(
            derive_score(&[
                mark(MarketKind::MatchOdds, Home, true),
                mark(ah, Home, false)
            ]),
            s(1, 0)
        );
        assert_eq!(
            derive_score(&[
                mark(MarketKind::MatchOdds, Home, true),
                mark(ah, Home, true)
            ]),
            s(2, 0)
        );
        assert_eq!(
            derive_score(&[
                mark(MarketKind::Btts, Yes, true),
                mark(ou(1.5), Under, true)
            ]),
            None
        );
    }

    #[test]
    fn dates_times_and_zones() {
        assert_eq!(
            parse_time("2020-12-28 00:00:00.000 +0000"),
            Some((utc_ms(2020, 12, 28, 0, 0, 0), true))
        );
        assert_eq!(
            parse_time("2023-10-20T09:37:41.000Z"),
            Some((utc_ms(2023, 10, 20, 9, 37, 41), true))
        );
        assert_eq!(
            parse_time("7/10/2022"),
            Some((utc_ms(2022, 10, 7, 0, 0, 0), false))
        );
        assert_eq!(
            parse_time("2021-01-23 17:52:35.250 +1100"),
            Some((utc_ms(2021, 1, 23, 6, 52, 35) + 250, true))
        );
        for bad in [
            "",
            "2021-13-01",
            "31/2/2022",
            "2021-01-01 25:00",
            "x",
            "2021-01-01T10:00+01",
        ] {
            let parsed = parse_time(bad);
            assert!(
                parsed.is_none() || bad.ends_with("+01"),
                "{bad:?} → {parsed:?}"
            );
        }
        assert_eq!(
            parse_time("2021-01-01T10:00+01"),
            Some((utc_ms(2021, 1, 1, 9, 0, 0), true))
        );
        assert_eq!(
            season_of_name("A-League_2020-2021_Match_Odds.csv").as_deref(),
            Some("2020-21")
        );
        assert_eq!(season_of_time(utc_ms(2023, 2, 1, 0, 0, 0)), "2022-23");
    }

    #[test]
    fn a_league_team_names() {
        assert_eq!(
            a_league_team("Western Sydney (W)", true),
            "Western Sydney Wanderers (W)"
        );
        assert_eq!(
            a_league_team("Western Sydney Wanderers (W", true),
            "Western Sydney Wanderers (W)"
        );
        assert_eq!(
            a_league_team("Western sydney (W)", true),
            "Western Sydney Wanderers (W)"
        );
        assert_eq!(
            a_league_team("Western Sydney Wanderers", true),
            "Western Sydney Wanderers (W)"
        );
        assert_eq!(
            a_league_team("Western Sydney Wanderers", false),
            "Western Sydney Wanderers"
        );
        assert_eq!(
            a_league_team("Western United (W)", true),
            "Western United (W)"
        );
        assert_eq!(
            a_league_team("Brisbane Roar FC (W)", true),
            "Brisbane Roar (W)"
        );
        assert_eq!(
            a_league_team("Central Coast (W)", true),
            "Central Coast Mariners (W)"
        );
        assert_eq!(
            a_league_team("Melbourne Victory (", true),
            "Melbourne Victory (W)"
        );
        assert_eq!(
            a_league_team("Melbourne (W)", true),
            "Melbourne (W)",
            "ambiguous"
        );
        assert_eq!(a_league_team("Sydney FC", false), "Sydney FC");
        assert_eq!(
            pair_names(
                "Western Sydney (W)",
                "Western United (W)",
                &["Western United (W)"],
                &["Western Sydney Wanderers (W)"]
            ),
            Some(false)
        );
    }

    /// The source's rows of a CSV excerpt: (EVENT_ID, HOME_TEAM, AWAY_TEAM, RUNNER_NAME,
    /// RUNNER_STATUS, HOME_SCORE, AWAY_SCORE).
    fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
        let text = read_text(path).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let headers = rdr.headers().unwrap().clone();
        rdr.records()
            .map(|r| {
                let r = r.unwrap();
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    /// Every WINNER row settles Won and every LOSER row Lost against the imported result of its
    /// event (runners matched to the fixture's teams by name). Returns the events checked.
    fn winners_settle(imp: &Imported<BetfairReport>, rows: &[BTreeMap<String, String>]) -> usize {
        let mut checked = BTreeSet::new();
        for row in rows {
            let mid = betfair_id(&row["EVENT_ID"]);
            let recs = of_match(&imp.records, mid);
            let Some((_, result)) = results(&recs).last().copied() else {
                continue;
            };
            let f = fixtures(&recs).pop().unwrap();
            let name = &row["RUNNER_NAME"];
            let sel = if is_draw_name(name) {
                Selection::Draw
            } else if affinity(name, &f.home.name) > affinity(name, &f.away.name) {
                Selection::Home
            } else {
                Selection::Away
            };
            let want = match row["RUNNER_STATUS"].as_str() {
                "WINNER" => Outcome::Won,
                "LOSER" => Outcome::Lost,
                _ => continue,
            };
            let listed = [Selection::Home, Selection::Draw, Selection::Away];
            assert_eq!(
                settle(
                    MarketKind::MatchOdds,
                    sel,
                    &listed,
                    &facts(result.full_time)
                ),
                Ok(want),
                "{row:?} against {result:?}"
            );
            checked.insert(mid);
        }
        checked.len()
    }

    #[test]
    fn a_league_match_odds_with_half_time_prices() {
        let path = fixture("A-League_2020-2021_Match_Odds.excerpt.csv");
        let imp = run(std::slice::from_ref(&path));
        let rows = csv_rows(&path);
        let events: BTreeSet<&str> = rows.iter().map(|r| r["EVENT_ID"].as_str()).collect();
        let scored: BTreeSet<&str> = rows
            .iter()
            .filter(|r| !r["HOME_SCORE"].is_empty())
            .map(|r| r["EVENT_ID"].as_str())
            .collect();
        assert_eq!(events.len(), 3);
        assert_eq!(imp.report.events, events.len());
        assert_eq!(imp.report.results, scored.len());
        assert_eq!(
            imp.report.markets,
            events.len(),
            "one Match Odds market each"
        );
        assert_eq!(winners_settle(&imp, &rows), scored.len());

        // 30177999, Western United v Adelaide United, 0-0; half-time snapshot at 08:52:25.
        let recs = of_match(&imp.records, betfair_id("30177999"));
        let f = &fixtures(&recs)[0];
        assert_eq!(
            (f.home.name.as_str(), f.away.name.as_str()),
            ("Western United", "Adelaide United")
        );
        assert_eq!(
            (f.league.as_str(), f.season.as_str()),
            ("A-League", "2020-21")
        );
        let ht = utc_ms(2020, 12, 28, 8, 52, 25);
        assert_eq!(
            f.kickoff,
            utc_ms(2020, 12, 28, 7, 52, 0),
            "HALF_TIME − 60 min"
        );
        let mo = markets(&recs, MarketKind::MatchOdds);
        let seen: Vec<(EventTime, MarketStatus, Phase)> =
            mo.iter().map(|(t, m)| (*t, m.status, m.phase)).collect();
        assert_eq!(
            seen,
            [
                (f.kickoff - MINUTE, MarketStatus::Open, Phase::Prematch),
                (f.kickoff, MarketStatus::Suspended, Phase::Prematch),
                (ht, MarketStatus::Open, Phase::InPlay),
                (ht + MINUTE, MarketStatus::Suspended, Phase::InPlay),
                (
                    f.kickoff + 120 * MINUTE,
                    MarketStatus::Closed,
                    Phase::InPlay
                ),
            ]
        );
        use Selection::{Away, Draw, Home};
        assert_eq!(
            odds_at(&recs, MarketKind::MatchOdds, f.kickoff - MINUTE),
            BTreeMap::from([(Home, 2.1), (Draw, 3.9), (Away, 3.6)])
        );
        assert_eq!(
            odds_at(&recs, MarketKind::MatchOdds, ht),
            BTreeMap::from([(Home, 2.36), (Draw, 3.15), (Away, 3.9)])
        );
        assert_eq!(results(&recs)[0].1.full_time, Score { home: 0, away: 0 });

        // 30262025 has two Match Odds markets: the one with prices is kept, the other's three
        // rows are skipped; its half-time prices are empty, so no in-play snapshot.
        let recs = of_match(&imp.records, betfair_id("30262025"));
        assert!(
            markets(&recs, MarketKind::MatchOdds)
                .iter()
                .all(|(_, m)| m.phase == Phase::Prematch)
        );
        let sk = &imp.report.skipped;
        assert_eq!(
            sk.iter()
                .filter(|s| s.contains("market 178680214 is a second"))
                .count(),
            3,
            "{sk:#?}"
        );
        assert!(
            sk.iter()
                .any(|s| s.contains("30262025") && s.contains("half-time prices missing"))
        );
        assert_eq!(sk.len(), 4, "{sk:#?}");
    }

    #[test]
    fn a_league_season_without_half_time_column() {
        let path = fixture("A-League_2022-2023_Match_Odds.excerpt.csv");
        let imp = run(std::slice::from_ref(&path));
        let rows = csv_rows(&path);
        let events: BTreeSet<&str> = rows.iter().map(|r| r["EVENT_ID"].as_str()).collect();
        assert_eq!(
            (imp.report.events, imp.report.results),
            (events.len(), events.len())
        );
        assert_eq!(winners_settle(&imp, &rows), events.len());
        assert!(
            !imp.records
                .iter()
                .any(|r| matches!(&r.body, Body::Market(m) if m.phase == Phase::InPlay))
        );
        assert_eq!(imp.report.skipped.len(), 1, "{:?}", imp.report.skipped);
        assert!(imp.report.skipped[0].contains("no HALF_TIME column"));
        let recs = of_match(&imp.records, betfair_id("31766313"));
        let f = &fixtures(&recs)[0];
        assert_eq!(
            f.kickoff,
            utc_ms(2022, 10, 7, 0, 0, 0),
            "7/10/2022 is 7 October"
        );
        assert_eq!(f.season, "2022-23");
        // 31872507: HOME_TEAM/AWAY_TEAM are swapped against the event name "Newcastle Jets v
        // Melbourne City"; the score 1-2 follows the event name and Melbourne City won.
        let recs = of_match(&imp.records, betfair_id("31872507"));
        let f = &fixtures(&recs)[0];
        assert_eq!(
            (f.home.name.as_str(), f.away.name.as_str()),
            ("Newcastle Jets", "Melbourne City")
        );
        assert_eq!(results(&recs)[0].1.full_time, Score { home: 1, away: 2 });
    }

    #[test]
    fn a_league_women_names_and_all_markets() {
        let mo = fixture("A-League_Womens_2021-2022_Match_Odds.excerpt.csv");
        let all = fixture("A-League_Womens_2021-2022_All_Markets.excerpt.csv");
        let imp = run(&[mo.clone(), all.clone()]);
        let rows = csv_rows(&mo);
        let events: BTreeSet<&str> = rows.iter().map(|r| r["EVENT_ID"].as_str()).collect();
        assert_eq!(
            (imp.report.events, imp.report.results),
            (events.len(), events.len())
        );
        assert_eq!(winners_settle(&imp, &rows), events.len());
        // "Western Sydney (W)" is the runner of "Western Sydney Wanderers (W": away, winner 0-1.
        let recs = of_match(&imp.records, betfair_id("31161686"));
        let f = &fixtures(&recs)[0];
        assert_eq!(f.league, "A-League Women");
        assert_eq!(f.away.name, "Western Sydney Wanderers (W)");
        assert_eq!(f.home.name, "Brisbane Roar (W)");
        assert_eq!(results(&recs)[0].1.full_time, Score { home: 0, away: 1 });
        // A women's team written without "(W)" is still the women's team.
        let recs = of_match(&imp.records, betfair_id("31107484"));
        assert_eq!(fixtures(&recs)[0].away.name, "Western Sydney Wanderers (W)");

        // 31107467 in both files: Match Odds with the 60/30-min prices of All_Markets and the
        // kick-off price of Match_Odds; over/under lines and double chance from All_Markets, all
        // settling as Betfair marked them.
        let recs = of_match(&imp.records, betfair_id("31107467"));
        let f = &fixtures(&recs)[0];
        assert_eq!(f.kickoff, utc_ms(2021, 12, 3, 9, 3, 0));
        let k = f.kickoff;
        use Selection::{Away, Draw, DrawOrAway, Home, HomeOrAway, HomeOrDraw};
        assert_eq!(markets(&recs, MarketKind::MatchOdds)[0].0, k - 60 * MINUTE);
        assert_eq!(
            odds_at(&recs, MarketKind::MatchOdds, k - 60 * MINUTE),
            BTreeMap::from([(Home, 1.84), (Draw, 4.2), (Away, 4.2)])
        );
        // 1 min: kick-off prices 1.87/4.1/4.1 (the All_Markets 1-min prices are the same here
        // except none); only changes are sent.
        assert_eq!(
            odds_at(&recs, MarketKind::MatchOdds, k - MINUTE),
            BTreeMap::from([(Home, 1.87), (Draw, 4.1)])
        );
        let result = results(&recs)[0].1;
        assert_eq!(result.full_time, Score { home: 0, away: 1 });
        let all_rows = csv_rows(&all);
        let mut settled = 0;
        for row in &all_rows {
            let Some(kind) = csv_market_kind(&row["MARKET_TYPE"], &row["MARKET_NAME"]) else {
                continue;
            };
            let m = markets(&recs, kind);
            assert!(!m.is_empty(), "{kind:?} imported");
            let listed = m[0].1.selections.clone();
            let sel = match kind {
                MarketKind::OverUnder { .. } => over_under_selection(&row["RUNNER_NAME"]).unwrap(),
                MarketKind::DoubleChance => match row["RUNNER_NAME"].as_str() {
                    "Home or Draw" => HomeOrDraw,
                    "Draw or Away" => DrawOrAway,
                    _ => HomeOrAway,
                },
                _ => continue,
            };
            let want = if row["RUNNER_STATUS"] == "WINNER" {
                Outcome::Won
            } else {
                Outcome::Lost
            };
            assert_eq!(
                settle(kind, sel, &listed, &facts(result.full_time)),
                Ok(want),
                "{row:?}"
            );
            settled += 1;
        }
        assert_eq!(
            settled,
            2 * 9 + 3,
            "nine over/under lines (0.5 to 8.5) and double chance"
        );
        let sk = &imp.report.skipped;
        assert!(
            sk.iter().any(|s| s.contains("\"Asian Handicap\" skipped")),
            "{sk:#?}"
        );
        assert!(sk.iter().any(|s| s.contains("\"Correct Score\" skipped")));
        assert!(!sk.iter().any(|s| s.contains("settles it")), "{sk:#?}");
    }

    #[test]
    fn a_league_rows_that_disagree_or_are_broken_are_skipped_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let header = "EVENT_DATE,PATH,EVENT_ID,MARKET_TYPE,MARKET_ID,MARKET_NAME,SELECTION_ID,RUNNER_NAME,RUNNER_STATUS,IS_WINNER,TOTAL_GOALS,HOME_TEAM,AWAY_TEAM,HOME_MARGIN,HOME_SCORE,AWAY_SCORE,BEST_BACK_KICK_OFF,BEST_LAY_KICK_OFF,MATCHED_VOLUME_KICK_OFF,HALF_TIME,BEST_BACK_PRICE_HALF_TIME,BEST_LAY_PRICE_HALF_TIME,MATCHED_VOLUME_HALF_TIME,TOTAL_MATCHED_VOLUME";
        let row = |event: &str,
                   sel: &str,
                   runner: &str,
                   status: &str,
                   score: &str,
                   ko: &str,
                   ht: &str| {
            format!(
                "2023-10-20T00:00:00.000Z,A/B/Fixtures 20 Oct/Perth Glory v Sydney FC,{event},MATCH_ODDS,9{event},Match Odds,{sel},{runner},{status},0,1,Perth Glory,Sydney FC,0,{score},{ko},1,1,2023-10-20T09:37:41.000Z,{ht},1,1,1"
            )
        };
        let text = [
            header.to_string(),
            // 1: Perth won per Betfair, but the score says 0-1.
            row("1", "11", "Perth Glory", "WINNER", "0,1", "2.5", "1.5"),
            row("1", "12", "Sydney FC", "LOSER", "0,1", "3", "4"),
            row("1", "58805", "The Draw", "LOSER", "0,1", "3.2", "abc"),
            // 2: no score; a price of 1.0.
            row("2", "11", "Perth Glory", "WINNER", ",", "1.0", "1.5"),
            row("2", "12", "Sydney FC", "LOSER", ",", "3", "4"),
            row("2", "58805", "The Draw", "LOSER", ",", "3.2", "5"),
            // 3: a runner named like neither team, and a bad date.
            row("3", "11", "Perth Glory", "LOSER", "1,1", "2.5", "1.5"),
            row("3", "13", "Someone Else", "LOSER", "1,1", "3", "4"),
            row("3", "58805", "The Draw", "WINNER", "1,1", "3.2", "5"),
            "nonsense,x,4,MATCH_ODDS,94,Match Odds,1,A,WINNER,1,1,A,B,0,1,0,2,2,1,,,,,".into(),
        ]
        .join("\n");
        let path = dir.path().join("A-League_2023-2024_Match_Odds.csv");
        std::fs::write(&path, text).unwrap();
        let imp = run(std::slice::from_ref(&path));
        assert_eq!(imp.report.events, 3);
        assert_eq!(imp.report.results, 0, "{:#?}", imp.report.skipped);
        let sk = &imp.report.skipped;
        let has = |line: usize, what: &str| {
            sk.iter()
                .any(|s| s.contains(&format!("Match_Odds.csv:{line}:")) && s.contains(what))
        };
        assert!(
            has(2, "is marked WINNER but the score 0-1 settles it Lost"),
            "{sk:#?}"
        );
        assert!(has(4, "BEST_BACK_PRICE_HALF_TIME \"abc\""), "{sk:#?}");
        assert!(
            has(5, "BEST_BACK_KICK_OFF \"1.0\" is not a price > 1"),
            "{sk:#?}"
        );
        assert!(has(5, "no readable final score"), "{sk:#?}");
        assert!(has(9, "Someone Else"), "{sk:#?}");
        assert!(has(11, "unreadable EVENT_DATE"), "{sk:#?}");
        // Event 1: half-time snapshot skipped (the draw's half-time price is unreadable).
        let recs = of_match(&imp.records, betfair_id("1"));
        assert!(
            markets(&recs, MarketKind::MatchOdds)
                .iter()
                .all(|(_, m)| m.phase == Phase::Prematch)
        );
        assert_eq!(fixtures(&recs)[0].league, "A-League");
    }

    /// The whole shared data set, where this checkout has it.
    #[test]
    fn full_shared_data_when_present() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        let (aleague, streams) = (
            root.join("betfair-aleague"),
            root.join("betfair-stream-fixtures"),
        );
        if !aleague.is_dir() || !streams.is_dir() {
            eprintln!("{} not here: skipped", root.display());
            return;
        }
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&aleague)
            .unwrap()
            .chain(std::fs::read_dir(&streams).unwrap())
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        let imp = run(&paths);
        let r = &imp.report;
        eprintln!(
            "files {} events {} markets {} odds {} results {} skipped {}",
            r.files,
            r.events,
            r.markets,
            r.odds,
            r.results,
            r.skipped.len()
        );
        for s in r.skipped.iter().filter(|s| s.contains("settles it")) {
            eprintln!("  {s}");
        }
        for what in [
            "no readable final score",
            "no marketDefinition",
            "is a second",
            "half-time prices missing",
            "unreadable score",
            "market type not imported",
            "is not imported",
        ] {
            let n = r.skipped.iter().filter(|s| s.contains(what)).count();
            eprintln!("  {n:4} skipped lines with {what:?}");
        }
        // Every Match_Odds event with a score has a result, unless Betfair's WINNER disagrees
        // with the score (a skipped line says so); every result agrees with the WINNER rows.
        let mut disagreements = BTreeSet::new();
        let mut scored = BTreeSet::new();
        let mut all_rows = Vec::new();
        for p in paths
            .iter()
            .filter(|p| p.to_string_lossy().contains("Match_Odds"))
        {
            let rows = csv_rows(p);
            for row in &rows {
                // Whole numbers only: some rows carry scores like "5.625"-"1.375".
                if parse_goals(&row["HOME_SCORE"]).is_some()
                    && parse_goals(&row["AWAY_SCORE"]).is_some()
                {
                    scored.insert(row["EVENT_ID"].clone());
                }
            }
            all_rows.extend(rows);
        }
        for id in &scored {
            let has_result = !results(&of_match(&imp.records, betfair_id(id))).is_empty();
            let disagrees = r
                .skipped
                .iter()
                .any(|s| s.contains(&format!("event {id} ")) && s.contains("settles it"));
            assert!(
                has_result != disagrees,
                "event {id}: result {has_result}, disagreement {disagrees}"
            );
            if disagrees {
                disagreements.insert(id.clone());
            }
        }
        eprintln!("scored {} disagreements {disagreements:?}", scored.len());
        // The two events of 27 Dec 2022 whose score columns contradict Betfair's settlement
        // (e.g. Adelaide United v Newcastle Jets 1-0 with Newcastle the WINNER).
        assert_eq!(
            disagreements,
            BTreeSet::from(["31967376".to_string(), "31967377".to_string()])
        );
        assert_eq!(
            winners_settle(&imp, &all_rows),
            scored.len() - disagreements.len()
        );
        // The BTTS recording settles; the prematch recording does not.
        assert_eq!(
            results(&of_match(&imp.records, betfair_id("28796969"))).len(),
            1
        );
    }
}
