//! Betfair Exchange Stream API recordings (`{"op":"mcm",…}` market change messages) into feed
//! records: per market the latest definition and the price ladders, and after every market
//! change what changed in it (see the [parent module](super) for what is emitted when).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use oddsflow_dataflows::model::{
    Body, EventTime, F64, Fixture, Line, MarketKind, MarketStatus, MatchId, MatchStatus, Phase,
    Selection, TeamRef,
};
use serde_json::Value;

use super::{
    DAY, DRAW_SELECTION, Mark, Out, derive_score, file_label, is_draw_name, market_body, odds_body,
    over_under_line, over_under_selection, pair_names, parse_time, result_body, split_event_name,
    status_body, valid_price, yes_no_selection,
};
use crate::import::{stable_id, team_id};
use crate::time::civil_from_days;

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

/// Every market and event of the recordings read so far.
#[derive(Default)]
pub(super) struct StreamState {
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
    /// Reads one recording: every message in order, each market change applied and synced.
    pub(super) fn read_file(
        &mut self,
        path: &Path,
        text: &str,
        out: &mut Out,
        skipped: &mut Vec<String>,
    ) {
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
        let event = refresh_event(&mut self.events, &def, pt, moved, out);
        let Some((status, mapped)) = admit(market, &def, event) else {
            return;
        };
        let mut sync = MarketSync {
            market_id,
            def: &def,
            pt,
            out,
            skipped,
        };
        sync.accept(market, event, &mapped);
        let phase = if def.in_play {
            Phase::InPlay
        } else {
            Phase::Prematch
        };
        let mut marks = Vec::new();
        for (kind, runners) in &mapped.kinds {
            marks.extend(sync.kind(market, event, *kind, runners, status, phase));
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

    /// After all files: a `skipped` line per market not imported, and per settled event its
    /// Finished status and result at the latest settlement (or why no score fits).
    pub(super) fn finish(self, out: &mut Out, skipped: &mut Vec<String>) {
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

/// The event of a market definition at `pt`, created on its first market. Until its fixture is
/// out, an event takes names and kick-off from the latest definition (a later match-odds market
/// may name the teams by selection); after, a market that `moved` its `marketTime` re-sends the
/// fixture with the new kick-off.
fn refresh_event<'a>(
    events: &'a mut BTreeMap<String, StreamEvent>,
    def: &MarketDef,
    pt: EventTime,
    moved: bool,
    out: &mut Out,
) -> &'a mut StreamEvent {
    let event = events
        .entry(def.event_id.clone())
        .or_insert_with(|| new_event(def, pt));
    if !event.announced {
        *event = new_event(def, pt);
    } else if moved
        && let Some(t) = def.market_time
        && t != event.fixture.kickoff
    {
        event.fixture.kickoff = t;
        event.fixture.season = civil_from_days(t.div_euclid(DAY)).0.to_string();
        out.push(pt, event.match_id, Body::Fixture(event.fixture.clone()));
    }
    event
}

/// The market's status and kinds, when it is imported; else `None`, with the reason kept in
/// `market.unmapped` (reported once, at the end).
fn admit(
    market: &mut StreamMarket,
    def: &MarketDef,
    event: &StreamEvent,
) -> Option<(MarketStatus, Mapped)> {
    if let Some(t) = &def.event_type
        && t != "1"
    {
        market.unmapped = Some(format!("event type {t} is not soccer (1)"));
        return None;
    }
    let Some(status) = market_status(&def.status) else {
        market.unmapped = Some(format!("market status {} is unknown", def.status));
        return None;
    };
    let mapped = match map_market(def, event) {
        Ok(m) => m,
        Err(reason) => {
            market.unmapped = Some(reason);
            return None;
        }
    };
    if event.bad {
        market.unmapped = Some(format!(
            "home and away are one team ({})",
            event.fixture.home.name
        ));
        return None;
    }
    Some((status, mapped))
}

/// One imported market's change at `pt`: where its records and skipped lines go.
struct MarketSync<'a> {
    market_id: &'a str,
    def: &'a MarketDef,
    pt: EventTime,
    out: &'a mut Out,
    skipped: &'a mut Vec<String>,
}

impl MarketSync<'_> {
    /// An imported market: the event's fixture goes out (once), the mapping's notes are
    /// reported (once each), the event learns its team selections and, on the first in-play
    /// market, that the first half started.
    fn accept(&mut self, market: &mut StreamMarket, event: &mut StreamEvent, mapped: &Mapped) {
        let (market_id, def, pt) = (self.market_id, self.def, self.pt);
        if !event.announced {
            event.announced = true;
            self.out
                .push(pt, event.match_id, Body::Fixture(event.fixture.clone()));
        }
        market.unmapped = None;
        for note in &mapped.notes {
            if market.notes.insert(note.clone()) {
                self.skipped.push(format!(
                    "market {market_id} ({}, event {}): {note}",
                    def.market_type, def.event_id
                ));
            }
        }
        if event.teams.is_none() {
            event.teams = mapped.teams;
        }
        if def.in_play && !event.in_play {
            event.in_play = true;
            self.out
                .push(pt, event.match_id, status_body(MatchStatus::FirstHalf, 0));
        }
    }

    /// One market kind of the market: its `Market` record when (status, phase, selections)
    /// changed, its prices while open; returns the WINNER/LOSER marks of a closed market. A kind
    /// that another market of the event already provides is skipped.
    fn kind(
        &mut self,
        market: &mut StreamMarket,
        event: &mut StreamEvent,
        kind: MarketKind,
        runners: &[MappedRunner],
        status: MarketStatus,
        phase: Phase,
    ) -> Vec<Mark> {
        if !self.claim(market, event, kind) {
            return Vec::new();
        }
        let selections: Vec<Selection> = runners
            .iter()
            .filter(|(_, _, st)| !is_removed(st))
            .map(|(_, s, _)| *s)
            .collect();
        if selections.is_empty() {
            return Vec::new();
        }
        let shown = (status, phase, selections.clone());
        if market.shown.get(&kind) != Some(&shown) {
            self.out.push(
                self.pt,
                event.match_id,
                market_body(kind, status, phase, selections.clone()),
            );
            market.shown.insert(kind, shown);
        }
        if status == MarketStatus::Open {
            self.prices(market, event.match_id, kind, runners);
        }
        if status == MarketStatus::Closed {
            closed_marks(kind, runners, &selections)
        } else {
            Vec::new()
        }
    }

    /// Whether this market provides `kind` for its event: the first market to bring a kind
    /// owns it; any other is skipped (noted once).
    fn claim(
        &mut self,
        market: &mut StreamMarket,
        event: &mut StreamEvent,
        kind: MarketKind,
    ) -> bool {
        let (market_id, def) = (self.market_id, self.def);
        match event.owners.get(&kind) {
            Some(owner) if owner != market_id => {
                let note = format!("{kind:?} is already provided by market {owner}");
                if market.notes.insert(note.clone()) {
                    self.skipped.push(format!(
                        "market {market_id} ({}, event {}): {note}; skipped",
                        def.market_type, def.event_id
                    ));
                }
                false
            }
            Some(_) => true,
            None => {
                event.owners.insert(kind, market_id.to_string());
                true
            }
        }
    }

    /// The best back price of every listed runner, when it changed.
    fn prices(
        &mut self,
        market: &mut StreamMarket,
        match_id: MatchId,
        kind: MarketKind,
        runners: &[MappedRunner],
    ) {
        let market_id = self.market_id;
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
                    self.skipped.push(format!("market {market_id}: {note}"));
                }
                continue;
            }
            if market.prices.get(&(kind, *sel)) != Some(&p) {
                self.out.push(self.pt, match_id, odds_body(kind, *sel, p));
                market.prices.insert((kind, *sel), p);
            }
        }
    }
}

/// The settlement marks of a closed market's runners: WINNER won, LOSER lost, others none.
fn closed_marks(kind: MarketKind, runners: &[MappedRunner], selections: &[Selection]) -> Vec<Mark> {
    let mut marks = Vec::new();
    for (_, sel, st) in runners {
        let won = match st.as_str() {
            "WINNER" => true,
            "LOSER" => false,
            _ => continue,
        };
        marks.push(Mark {
            kind,
            selection: *sel,
            listed: selections.to_vec(),
            won,
        });
    }
    marks
}
