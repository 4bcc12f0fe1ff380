//! Betfair's A-League CSVs (betfair-datascientists: `*_Match_Odds.csv`, `*_All_Markets.csv`)
//! into feed records: rows are gathered into events, markets and runners while the files are
//! read; each event becomes its timeline of records at the end (see the
//! [parent module](super) for the timeline and how kick-off, teams and results are read).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use oddsflow_dataflows::model::{
    Body, EventTime, Fixture, Line, MarketKind, MarketStatus, MatchId, MatchStatus, Phase, Score,
    Selection, TeamId, TeamRef,
};
use oddsflow_dataflows::settlement::{MatchFacts, Outcome, settle};

use super::{
    DAY, DRAW_SELECTION, MINUTE, Out, affinity, facts, file_label, is_draw_name, market_body,
    odds_body, over_under_line, over_under_selection, pair_names, parse_time, result_body,
    split_event_name, status_body, valid_price, yes_no_selection,
};
use crate::import::{stable_id, team_id};
use crate::time::civil_from_days;

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
pub(super) fn a_league_team(name: &str, women: bool) -> String {
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
pub(super) fn season_of_name(name: &str) -> Option<String> {
    let b = name.as_bytes();
    (0..b.len().saturating_sub(8)).find_map(|i| {
        let w = &b[i..i + 9];
        let digits = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        (digits(0..4) && w[4] == b'-' && digits(5..9))
            .then(|| format!("{}-{}", &name[i..i + 4], &name[i + 7..i + 9]))
    })
}

/// The A-League season of a date: July to June.
pub(super) fn season_of_time(t: EventTime) -> String {
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
pub(super) fn csv_market_kind(market_type: &str, market_name: &str) -> Option<MarketKind> {
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

/// Every event of the CSVs read so far, by `EVENT_ID`.
#[derive(Default)]
pub(super) struct CsvState {
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

/// Goals written as a whole number (also "2.0").
pub(super) fn parse_goals(s: &str) -> Option<u8> {
    let v: f64 = s.trim().parse().ok()?;
    (v.fract() == 0.0 && (0.0..=255.0).contains(&v)).then_some(v as u8)
}

impl CsvState {
    /// Reads one CSV: its header decides the kind of file, then every row adds to its event.
    pub(super) fn read_file(&mut self, path: &Path, text: &str, skipped: &mut Vec<String>) {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let Some(f) = CsvFile::from_header(file_label(path), &mut rdr, skipped) else {
            return;
        };
        let file = f.file.as_str();
        let mut unmapped: BTreeMap<String, usize> = BTreeMap::new();
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
            self.read_row(&f, &rec, &mut unmapped, skipped);
        }
        for (name, rows) in unmapped {
            skipped.push(format!(
                "{file}: {rows} row(s) of market {name:?} skipped: market type not imported"
            ));
        }
    }

    /// One data row: its event (created on its first row), the event's half-time stamp and
    /// score, its runner and the runner's prices. A row that cannot be used is skipped with its
    /// reason; a row of a market type not imported is counted in `unmapped`.
    fn read_row(
        &mut self,
        f: &CsvFile,
        rec: &csv::StringRecord,
        unmapped: &mut BTreeMap<String, usize>,
        skipped: &mut Vec<String>,
    ) {
        let row = Row {
            rec,
            cols: &f.cols,
            loc: format!("{}:{}", f.file, rec.position().map_or(0, |p| p.line())),
        };
        let loc = &row.loc;
        if rec.iter().all(|v| v.trim().is_empty()) {
            return;
        }
        let (event_id, market_id) = (row.get("EVENT_ID"), row.get("MARKET_ID"));
        if event_id.is_empty() || market_id.is_empty() {
            skipped.push(format!("{loc}: no EVENT_ID or MARKET_ID; row skipped"));
            return;
        }
        let Some(market_kind) = f.market_kind(&row, unmapped, skipped) else {
            return;
        };
        let Some((date, timed)) = parse_time(row.get("EVENT_DATE")) else {
            skipped.push(format!(
                "{loc}: unreadable EVENT_DATE {:?}; row skipped",
                row.get("EVENT_DATE")
            ));
            return;
        };
        let (home_col, away_col) = (row.get("HOME_TEAM"), row.get("AWAY_TEAM"));
        let runner_name = row.get("RUNNER_NAME");
        if home_col.is_empty() || away_col.is_empty() || runner_name.is_empty() {
            skipped.push(format!(
                "{loc}: no HOME_TEAM, AWAY_TEAM or RUNNER_NAME; row skipped"
            ));
            return;
        }
        let event = self
            .events
            .entry(event_id.to_string())
            .or_insert_with(|| f.new_event(&row, date, timed));
        event.read_half_time(f.ht_col, &row, skipped);
        event.read_score(&row, skipped);
        let Some(runner) = event.runner_of_row(f.kind, market_kind, &row, skipped) else {
            return;
        };
        read_prices(f.kind, runner, &row, skipped);
    }

    /// After all files: every event's records.
    pub(super) fn finish(self, out: &mut Out, skipped: &mut Vec<String>) {
        for event in self.events.values() {
            emit_csv_event(event, out, skipped);
        }
    }
}

/// A CSV file as its header describes it.
struct CsvFile {
    /// The file's name, as lines in `skipped` start.
    file: String,
    cols: Cols,
    kind: CsvKind,
    /// The `HALF_TIME` column, where the file has one.
    ht_col: Option<usize>,
    /// A women's league file (by its name).
    women: bool,
    /// The season in the file's name.
    season: Option<String>,
}

impl CsvFile {
    /// Reads the header; `None` (with the reason in `skipped`) when the file is not imported.
    fn from_header(
        file: String,
        rdr: &mut csv::Reader<&[u8]>,
        skipped: &mut Vec<String>,
    ) -> Option<Self> {
        let cols = match rdr.headers() {
            Ok(h) => Cols {
                names: h.iter().map(|s| s.trim().to_string()).collect(),
            },
            Err(e) => {
                skipped.push(format!("{file}: unreadable CSV header ({e}); file skipped"));
                return None;
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
            return None;
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
            return None;
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
        let women = file.to_lowercase().contains("women");
        let season = season_of_name(&file);
        Some(CsvFile {
            file,
            cols,
            kind,
            ht_col,
            women,
            season,
        })
    }

    /// The market kind of a row; `None` when the row is skipped (with its reason, or counted in
    /// `unmapped` when its market type is not imported).
    fn market_kind(
        &self,
        row: &Row,
        unmapped: &mut BTreeMap<String, usize>,
        skipped: &mut Vec<String>,
    ) -> Option<MarketKind> {
        let loc = &row.loc;
        let (market_type, market_name) = (row.get("MARKET_TYPE"), row.get("MARKET_NAME"));
        match self.kind {
            CsvKind::MatchOdds => {
                if market_type.is_empty()
                    || market_type == "MATCH_ODDS"
                    || market_name.eq_ignore_ascii_case("match odds")
                {
                    Some(MarketKind::MatchOdds)
                } else {
                    skipped.push(format!(
                        "{loc}: market type {market_type:?} in a Match_Odds file; row skipped"
                    ));
                    None
                }
            }
            CsvKind::AllMarkets => match csv_market_kind(market_type, market_name) {
                Some(k) => Some(k),
                None => {
                    let label = if market_name.is_empty() {
                        market_type
                    } else {
                        market_name
                    };
                    *unmapped.entry(label.to_string()).or_default() += 1;
                    None
                }
            },
        }
    }

    /// The event of a row that is the first of its event: league, season, date and teams,
    /// home and away in the order of the Betfair event name in `PATH`.
    fn new_event(&self, row: &Row, date: EventTime, timed: bool) -> CsvEvent {
        let path_col = row.get("PATH");
        let women = self.women
            || ["women", "w-league", "ladies"]
                .iter()
                .any(|w| path_col.to_lowercase().contains(w));
        // The event name's order decides home and away.
        let (mut home_src, mut away_src) = (
            row.get("HOME_TEAM").to_string(),
            row.get("AWAY_TEAM").to_string(),
        );
        if let Some((ph, pa)) = path_teams(path_col) {
            let straight = affinity(&ph, &home_src) + affinity(&pa, &away_src);
            let swapped = affinity(&ph, &away_src) + affinity(&pa, &home_src);
            if swapped > straight {
                std::mem::swap(&mut home_src, &mut away_src);
            }
        }
        let day = date.div_euclid(DAY) * DAY;
        CsvEvent {
            event_id: row.get("EVENT_ID").to_string(),
            loc: row.loc.clone(),
            league: if women { "A-League Women" } else { "A-League" }.into(),
            season: self.season.clone(),
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
    }
}

/// A data row of a CSV, with where it is (`file:line`).
struct Row<'a> {
    rec: &'a csv::StringRecord,
    cols: &'a Cols,
    loc: String,
}

impl<'a> Row<'a> {
    /// The trimmed field of a column ("" when the file or the row has none).
    fn get(&self, name: &str) -> &'a str {
        field(self.rec, self.cols.get(name))
    }
}

impl CsvEvent {
    /// The first readable `HALF_TIME` stamp of the event's rows.
    fn read_half_time(&mut self, ht_col: Option<usize>, row: &Row, skipped: &mut Vec<String>) {
        let loc = &row.loc;
        if let Some(col) = ht_col {
            let s = field(row.rec, Some(col));
            if !s.is_empty() {
                match parse_time(s) {
                    Some((t, true)) => {
                        self.half_time.get_or_insert(t);
                    }
                    _ => skipped.push(format!(
                        "{loc}: unreadable HALF_TIME {s:?}; half-time time ignored"
                    )),
                }
            }
        }
    }

    /// The final score of the event's first scored row; a later row with another score is a
    /// conflict.
    fn read_score(&mut self, row: &Row, skipped: &mut Vec<String>) {
        let loc = &row.loc;
        let (hs, as_) = (row.get("HOME_SCORE"), row.get("AWAY_SCORE"));
        if !hs.is_empty() || !as_.is_empty() {
            match (parse_goals(hs), parse_goals(as_)) {
                (Some(home), Some(away)) => {
                    let s = Score { home, away };
                    match self.score {
                        None => self.score = Some(s),
                        Some(old) if old != s => {
                            self.score_conflict.get_or_insert(format!(
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
    }

    /// The runner a row lists, in its market (both created on their first row), marked as seen
    /// in this kind of file; `None` (with the reason in `skipped`) when the row is skipped: its
    /// market had another kind on an earlier row, or a file of this kind already listed the
    /// runner.
    fn runner_of_row(
        &mut self,
        kind: CsvKind,
        market_kind: MarketKind,
        row: &Row,
        skipped: &mut Vec<String>,
    ) -> Option<&mut CsvRunner> {
        let loc = &row.loc;
        let (market_id, runner_name) = (row.get("MARKET_ID"), row.get("RUNNER_NAME"));
        let market = self
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
            return None;
        }
        let selection_id = row.get("SELECTION_ID");
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
                return None;
            }
            Some(i) => i,
            None => {
                market.runners.push(CsvRunner {
                    loc: loc.clone(),
                    selection_id: selection_id.to_string(),
                    name: runner_name.to_string(),
                    status: row.get("RUNNER_STATUS").to_string(),
                    prices: BTreeMap::new(),
                    half_time: None,
                    seen: vec![false, false],
                });
                market.runners.len() - 1
            }
        };
        let runner = &mut market.runners[idx];
        runner.seen[kind_index] = true;
        Some(runner)
    }
}

/// A row's best back prices into its runner: the kick-off and half-time prices of a Match_Odds
/// file, the 60-, 30- and 1-min prices of an All_Markets file (a price that is not > 1 is
/// skipped with its reason).
fn read_prices(kind: CsvKind, runner: &mut CsvRunner, row: &Row, skipped: &mut Vec<String>) {
    let loc = &row.loc;
    let mut price = |col: &str| -> Option<f64> {
        let s = row.get(col);
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

/// Emits an A-League event's records (see the table in the [parent module](super)).
fn emit_csv_event(event: &CsvEvent, out: &mut Out, skipped: &mut Vec<String>) {
    let mut e = CsvEmit::new(event);
    let (home, away) = (team_id(&event.home), team_id(&event.away));
    if home == away {
        skipped.push(format!(
            "{}: {}: home and away are one team; nothing imported",
            event.loc, e.label
        ));
        return;
    }
    e.fixture(home, away, out);
    let chosen = e.choose_markets(skipped);
    out.push(e.kickoff, e.mid, status_body(MatchStatus::FirstHalf, 0));
    if let Some(ht) = e.half_time {
        out.push(ht, e.mid, status_body(MatchStatus::HalfTime, 45 * 60));
    }
    for (kind, market) in &chosen {
        e.market(*kind, market, out, skipped);
    }
    out.push(e.end, e.mid, status_body(MatchStatus::Finished, 90 * 60));
    e.result(out, skipped);
}

/// One A-League event as it is emitted: its estimated timeline, and whether it gets a result.
struct CsvEmit<'a> {
    event: &'a CsvEvent,
    mid: MatchId,
    /// "event <id> (<home> v <away>)", as skipped lines name the event.
    label: String,
    kickoff: EventTime,
    /// Kick-off + 120 min.
    end: EventTime,
    /// `HALF_TIME`, when it falls between kick-off and the end.
    half_time: Option<EventTime>,
    score_facts: Option<MatchFacts>,
    /// A score, no conflict, and (so far) every runner mapped and settling as Betfair marked it.
    result_ok: bool,
}

impl<'a> CsvEmit<'a> {
    fn new(event: &'a CsvEvent) -> Self {
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
        CsvEmit {
            event,
            mid,
            label,
            kickoff,
            end,
            half_time,
            score_facts: event.score.map(facts),
            result_ok: event.score.is_some() && event.score_conflict.is_none(),
        }
    }

    /// The fixture, 90 min before kick-off.
    fn fixture(&self, home: TeamId, away: TeamId, out: &mut Out) {
        let event = self.event;
        out.push(
            self.kickoff - 90 * MINUTE,
            self.mid,
            Body::Fixture(Fixture {
                version: 0,
                league: event.league.clone(),
                season: event
                    .season
                    .clone()
                    .unwrap_or_else(|| season_of_time(self.kickoff)),
                kickoff: self.kickoff,
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
    }

    /// One market per kind: the one with most prices (ties: the first listed); every row of
    /// another market of that kind is skipped.
    fn choose_markets(&self, skipped: &mut Vec<String>) -> BTreeMap<MarketKind, &'a CsvMarket> {
        let label = &self.label;
        let mut chosen: BTreeMap<MarketKind, &CsvMarket> = BTreeMap::new();
        for m in self.event.markets.values() {
            match chosen.get(&m.kind) {
                Some(c) if c.price_count() >= m.price_count() => {}
                _ => {
                    chosen.insert(m.kind, m);
                }
            }
        }
        for m in self.event.markets.values() {
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
        chosen
    }

    /// A market's records: open before kick-off with its prematch prices, suspended at
    /// kick-off, the half-time snapshot (match odds), closed at the end; then Betfair's
    /// settlement is checked against the score.
    fn market(
        &mut self,
        kind: MarketKind,
        market: &'a CsvMarket,
        out: &mut Out,
        skipped: &mut Vec<String>,
    ) {
        let mapped = self.map_runners(kind, market, skipped);
        if mapped.is_empty() {
            return;
        }
        let selections: Vec<Selection> = mapped.iter().map(|(s, _)| *s).collect();
        self.prematch(kind, &mapped, &selections, out);
        // A market closes in the phase it was last shown in.
        let closed_phase = if kind == MarketKind::MatchOdds {
            self.half_time_snapshot(kind, &mapped, &selections, out, skipped)
        } else {
            Phase::Prematch
        };
        out.push(
            self.end,
            self.mid,
            market_body(kind, MarketStatus::Closed, closed_phase, selections.clone()),
        );
        self.check_settlement(kind, &mapped, &selections, skipped);
    }

    /// The home team's runner of a match-odds market (by name), when the names tell.
    fn home_runner(&self, kind: MarketKind, market: &CsvMarket) -> Option<usize> {
        if kind != MarketKind::MatchOdds {
            return None;
        }
        let event = self.event;
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
    }

    /// Runners → selections; a runner that maps to no selection, or to one already taken, is
    /// skipped (an unmapped match-odds runner also costs the event its result).
    fn map_runners(
        &mut self,
        kind: MarketKind,
        market: &'a CsvMarket,
        skipped: &mut Vec<String>,
    ) -> Vec<(Selection, &'a CsvRunner)> {
        let label = &self.label;
        let home_runner = self.home_runner(kind, market);
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
                        self.result_ok = false;
                    }
                }
            }
        }
        mapped
    }

    /// Open at the earliest price's offset before kick-off (1 min without prices), each
    /// snapshot's changed prices, suspended at kick-off.
    fn prematch(
        &self,
        kind: MarketKind,
        mapped: &[(Selection, &CsvRunner)],
        selections: &[Selection],
        out: &mut Out,
    ) {
        let (kickoff, mid) = (self.kickoff, self.mid);
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
                selections.to_vec(),
            ),
        );
        let mut last: HashMap<Selection, f64> = HashMap::new();
        for before in offsets.iter().rev() {
            for (s, r) in mapped {
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
                selections.to_vec(),
            ),
        );
    }

    /// The in-play snapshot of a match-odds market at half time, when every runner has a
    /// half-time price (else a skipped line says why not); returns the phase the market was
    /// last shown in.
    fn half_time_snapshot(
        &self,
        kind: MarketKind,
        mapped: &[(Selection, &CsvRunner)],
        selections: &[Selection],
        out: &mut Out,
        skipped: &mut Vec<String>,
    ) -> Phase {
        let (event, mid, label) = (self.event, self.mid, &self.label);
        let complete = mapped.iter().all(|(_, r)| r.half_time.is_some());
        let any = mapped.iter().any(|(_, r)| r.half_time.is_some());
        match self.half_time {
            Some(ht) if complete => {
                out.push(
                    ht,
                    mid,
                    market_body(kind, MarketStatus::Open, Phase::InPlay, selections.to_vec()),
                );
                for (s, r) in mapped {
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
                        selections.to_vec(),
                    ),
                );
                return Phase::InPlay;
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
        Phase::Prematch
    }

    /// Betfair's settlement must agree with the score: a WINNER or LOSER runner that the score
    /// settles otherwise is skipped with both, and the event gets no result.
    fn check_settlement(
        &mut self,
        kind: MarketKind,
        mapped: &[(Selection, &CsvRunner)],
        selections: &[Selection],
        skipped: &mut Vec<String>,
    ) {
        let label = &self.label;
        if let (Some(f), Some(score)) = (&self.score_facts, self.event.score) {
            for (s, r) in mapped {
                let expected = match r.status.as_str() {
                    "WINNER" => Outcome::Won,
                    "LOSER" => Outcome::Lost,
                    _ => continue,
                };
                let got = settle(kind, *s, selections, f);
                if got != Ok(expected) {
                    self.result_ok = false;
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

    /// The result at the end, when the event has one; else a skipped line says why not.
    fn result(&self, out: &mut Out, skipped: &mut Vec<String>) {
        let (event, label) = (self.event, &self.label);
        match (event.score, &event.score_conflict) {
            (None, _) => skipped.push(format!(
                "{}: {label}: no readable final score (HOME_SCORE/AWAY_SCORE empty or not whole numbers); no result",
                event.loc
            )),
            (Some(_), Some(conflict)) => {
                skipped.push(format!("{conflict}; {label}: no result"));
            }
            (Some(score), None) if self.result_ok => out.push(self.end, self.mid, result_body(score)),
            _ => {}
        }
    }
}
