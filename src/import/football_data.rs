//! football-data.co.uk CSVs → feed records.
//!
//! **In**: one CSV per league and season (`Div, Date, [Time], HomeTeam, AwayTeam, FTHG, FTAG, FTR,
//! HTHG, HTAG, …, HS, AS, HST, AST, HF, AF, HC, AC, HY, AY, HR, AR`, then odds columns), plain or
//! gzip'ed. **Out**: per match, in event time:
//!
//! | when | records |
//! |---|---|
//! | kick-off − 48 h | fixture (league from `Div`, season from the date, referee), status `scheduled` |
//! | kick-off − 24 h | prematch markets opened (1X2, over/under 2.5, Asian handicap where the file has them) at the **opening** odds |
//! | kick-off − 5 min | the same selections at the **closing** odds (an Asian line that moved: the old line closes, the new one opens) |
//! | kick-off | markets closed; status `first_half` |
//! | half time (+47 min) | the first-half goals (`HTHG`, `HTAG`) as goal incidents; status `half_time` |
//! | +62 min | status `second_half` |
//! | full time (+112 min) | the second-half goals, then the match statistics as final counters (shots with `HST` of them on target, corners, yellow and red cards, fouls); status `finished` |
//! | +115 min | result: half-time and full-time score, corners |
//!
//! **Which prices.** Each market takes the first book that quotes every selection with a price
//! above 1: 1X2 opening `PS*` (Pinnacle), else `B365*` (Bet365), else `Avg*` / `BbAv*` (market
//! average); closing `PSC*`, else `B365C*`, else `AvgC*`. Over/under 2.5: `P_2_5` / `B365_2_5` /
//! `Avg_2_5` / `BbAv_2_5`, closing `PC_2_5` / `B365C_2_5` / `AvgC_2_5`. Asian handicap: line `AHh`
//! (or `BbAHh`), prices `PAH*` / `B365AH*` / `AvgAH*` / `BbAvAH*`; closing line `AHCh`, prices
//! `PCAH*` / `B365CAH*` / `AvgCAH*`. The book used is kept per match ([`FdMarket::open_source`],
//! [`FdMarket::close_source`]) and counted in the import report. Files before 2019-20 have no
//! closing over/under or handicap prices: those markets stay at their opening prices.
//!
//! **Quirks handled**: `>2.5`/`<2.5` re-saved as `_2_5`/`_2_5_1`; integers written as floats
//! (`11.0`); empty trailing rows (a row whose `Div` is empty is skipped, not refused); `Date` as
//! `dd/mm/yy` or `dd/mm/yyyy`; `Time` (UK local, from 2019-20) converted to UTC with British
//! Summer Time; files without `Time`: kick-off assumed 15:00 UK local (say so in results: the
//! timeline then is approximate, the order of a match's records is not); a row without half-time
//! score (an abandoned match awarded later, e.g. Bastia v Lyon 2017) keeps its full-time score with
//! every goal at full time. A row that cannot be read
//! (no teams, no full-time score, `FTR` disagreeing with the score, a bad date, a count no match
//! could have — e.g. 999,999 shots: see `PLAUSIBLE`) is refused with its reason
//! ([`FdFile::refused`]), never guessed and never expanded into that many records.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use oddsflow_dataflows::model::*;

use super::{FeedBuilder, ImportReport, Imported, stable_id, team_id};
use crate::time::{uk_local_to_utc, utc_ms};

/// Fixture published this long before kick-off.
pub(crate) const FIXTURE_LEAD_MS: i64 = 48 * 3_600_000;
/// Markets opened (opening odds) this long before kick-off.
pub(crate) const OPEN_LEAD_MS: i64 = 24 * 3_600_000;
/// Closing odds this long before kick-off.
pub const CLOSE_LEAD_MS: i64 = 5 * 60_000;
/// Half-time whistle this long after kick-off.
pub(crate) const HALF_TIME_MS: i64 = 47 * 60_000;
/// Second-half start this long after kick-off.
pub(crate) const SECOND_HALF_MS: i64 = 62 * 60_000;
/// Final whistle this long after kick-off.
pub(crate) const FULL_TIME_MS: i64 = 112 * 60_000;
/// Result published this long after kick-off.
pub(crate) const RESULT_MS: i64 = 115 * 60_000;

/// Match statistics (home, away).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdStats {
    /// Shots (`HS`, `AS`).
    pub shots: [u32; 2],
    /// Shots on target (`HST`, `AST`), part of `shots`.
    pub shots_on_target: [u32; 2],
    /// Fouls committed (`HF`, `AF`).
    pub fouls: [u32; 2],
    /// Corners (`HC`, `AC`).
    pub corners: [u32; 2],
    /// Yellow cards (`HY`, `AY`).
    pub yellow: [u32; 2],
    /// Red cards (`HR`, `AR`).
    pub red: [u32; 2],
}

/// One prematch market of a match: its opening and closing prices, in `selections` order.
#[derive(Clone, Debug, PartialEq)]
pub struct FdMarket {
    /// Which market (1X2, over/under 2.5, an Asian handicap line).
    pub market: MarketKind,
    /// Its selections, in the order of the prices.
    pub selections: Vec<Selection>,
    /// The opening prices, when the file has them.
    pub open: Option<Vec<f64>>,
    /// The closing prices, when the file has them.
    pub close: Option<Vec<f64>>,
    /// The book the opening prices come from (`Pinnacle`, `Bet365`, `average`; empty: none).
    pub open_source: &'static str,
    /// The book the closing prices come from (`Pinnacle`, `Bet365`, `average`; empty: none).
    pub close_source: &'static str,
}

/// One football-data row.
#[derive(Clone, Debug, PartialEq)]
pub struct FdMatch {
    /// `Div` (`E0`, `SP1`, …).
    pub div: String,
    /// The league's name (`league_name` of `div`).
    pub league: String,
    /// `2015-16`.
    pub season: String,
    /// The match date as `(year, month, day)`.
    pub date: (i64, u32, u32),
    /// Kick-off, UTC ms.
    pub kickoff: EventTime,
    /// Kick-off from the file's `Time` (else 15:00 UK local was assumed).
    pub kickoff_known: bool,
    /// `HomeTeam`, as football-data spells it.
    pub home: String,
    /// `AwayTeam`, as football-data spells it.
    pub away: String,
    /// `Referee` (empty when the row has none).
    pub referee: String,
    /// `None` when the file has no half-time score (an abandoned match awarded by a
    /// committee): its goals all come at full time and its result says 0-0 at half time.
    pub half_time: Option<Score>,
    /// The full-time score (`FTHG`, `FTAG`).
    pub full_time: Score,
    /// `FTR`: `H`, `D`, `A`.
    pub ftr: char,
    /// The match statistics, when the row has all of them (and no more shots on target than
    /// shots).
    pub stats: Option<FdStats>,
    /// 1X2 first, then over/under 2.5, then the Asian handicap lines (opening line first).
    pub markets: Vec<FdMarket>,
    /// Pinnacle's closing 1X2 (`PSCH`, `PSCD`, `PSCA`), the evaluation's reference.
    pub pinnacle_close: Option<[f64; 3]>,
}

impl FdMatch {
    /// The match id: stable over files and runs.
    pub fn match_id(&self) -> MatchId {
        let (y, m, d) = self.date;
        stable_id(&[
            "football-data",
            &self.div,
            &format!("{y:04}-{m:02}-{d:02}"),
            &self.home,
            &self.away,
        ])
    }

    /// The market of this kind, if the file priced it.
    pub(crate) fn market(&self, kind: MarketKind) -> Option<&FdMarket> {
        self.markets.iter().find(|m| m.market == kind)
    }

    /// The closing prices of a market (else its opening prices).
    pub fn last_prices(&self, kind: MarketKind) -> Option<&[f64]> {
        let m = self.market(kind)?;
        m.close.as_deref().or(m.open.as_deref())
    }
}

/// A refused row.
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    /// The file the row is in.
    pub file: String,
    /// 1-based line of the CSV (the header is line 1).
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
    /// The row as read, its fields joined by commas (empty when the CSV row was unreadable).
    pub raw: String,
}

/// A file's matches and what was refused.
#[derive(Clone, Debug, Default)]
pub struct FdFile {
    /// The rows read, in file order.
    pub matches: Vec<FdMatch>,
    /// The rows refused, with their reasons.
    pub refused: Vec<Refused>,
    /// Rows skipped because `Div` was empty (trailing rows).
    pub empty_rows: usize,
}

/// The league name of a `Div` code.
pub(crate) fn league_name(div: &str) -> String {
    match div {
        "E0" => "Premier League".into(),
        "SP1" => "La Liga".into(),
        "D1" => "Bundesliga".into(),
        "I1" => "Serie A".into(),
        "F1" => "Ligue 1".into(),
        other => other.into(),
    }
}

/// `2015-16` for a date from July 2015 to June 2016.
pub(crate) fn season_of(y: i64, m: u32) -> String {
    let start = if m >= 7 { y } else { y - 1 };
    format!("{start}-{:02}", (start + 1).rem_euclid(100))
}

/// `dd/mm/yy` or `dd/mm/yyyy`.
pub(crate) fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let mut it = s.trim().split('/');
    let d: u32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let y_text = it.next()?;
    if it.next().is_some() || !(1..=31).contains(&d) || !(1..=12).contains(&m) {
        return None;
    }
    let y: i64 = y_text.parse().ok()?;
    let y = match y_text.len() {
        2 => 2000 + y,
        4 => y,
        _ => return None,
    };
    Some((y, m, d))
}

fn parse_hhmm(s: &str) -> Option<(u32, u32)> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some((h, m))
}

/// The most of each count one side can plausibly have in one match (each at or above any
/// recorded professional match, by a margin): a larger value refuses the row with a reason
/// instead of becoming that many incident records.
const PLAUSIBLE: [(&str, u32); 14] = [
    ("FTHG", 40),
    ("FTAG", 40),
    ("HTHG", 40),
    ("HTAG", 40),
    ("HS", 80),
    ("AS", 80),
    ("HST", 50),
    ("AST", 50),
    ("HF", 60),
    ("AF", 60),
    ("HC", 40),
    ("AC", 40),
    ("HY", 16),
    ("AY", 16),
];

/// Red cards: a side reduced below seven players is abandoned, so at most five.
const MAX_RED: u32 = 5;

/// A count written as `11` or `11.0`.
fn parse_count(s: &str) -> Option<u32> {
    let v: f64 = s.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1e6).then_some(v as u32)
}

fn parse_price(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    (v.is_finite() && v > 1.0).then_some(v)
}

struct Row<'a> {
    header: &'a HashMap<String, usize>,
    rec: &'a csv::StringRecord,
}

impl Row<'_> {
    fn get(&self, col: &str) -> Option<&str> {
        let v = self.rec.get(*self.header.get(col)?)?.trim();
        (!v.is_empty()).then_some(v)
    }
    fn count(&self, col: &str) -> Option<u32> {
        self.get(col).and_then(parse_count)
    }
    /// The prices of the columns, all of them above 1, or none.
    fn prices(&self, cols: &[String]) -> Option<Vec<f64>> {
        cols.iter()
            .map(|c| self.get(c).and_then(parse_price))
            .collect()
    }
    /// The first book quoting every column: `(book, [(prefix, suffixes)])`.
    fn first_book(&self, books: &[(&'static str, &[String])]) -> Option<(&'static str, Vec<f64>)> {
        books
            .iter()
            .find_map(|(name, cols)| self.prices(cols).map(|p| (*name, p)))
    }
}

fn cols(prefix: &str, suffixes: &[&str]) -> Vec<String> {
    suffixes.iter().map(|s| format!("{prefix}{s}")).collect()
}

fn market(
    kind: MarketKind,
    selections: Vec<Selection>,
    open: Option<(&'static str, Vec<f64>)>,
    close: Option<(&'static str, Vec<f64>)>,
) -> Option<FdMarket> {
    if open.is_none() && close.is_none() {
        return None;
    }
    Some(FdMarket {
        market: kind,
        selections,
        open_source: open.as_ref().map_or("", |o| o.0),
        close_source: close.as_ref().map_or("", |c| c.0),
        open: open.map(|o| o.1),
        close: close.map(|c| c.1),
    })
}

fn parse_markets(row: &Row) -> Vec<FdMarket> {
    let hda = ["H", "D", "A"];
    let ou = ["_2_5", "_2_5_1"];
    let mut out = Vec::new();
    let x12_open = [
        ("Pinnacle", cols("PS", &hda)),
        ("Bet365", cols("B365", &hda)),
        ("average", cols("Avg", &hda)),
        ("average", cols("BbAv", &hda)),
    ];
    let x12_close = [
        ("Pinnacle", cols("PSC", &hda)),
        ("Bet365", cols("B365C", &hda)),
        ("average", cols("AvgC", &hda)),
    ];
    let sel = |b: &[(&'static str, Vec<String>)]| {
        let refs: Vec<(&'static str, &[String])> =
            b.iter().map(|(n, c)| (*n, c.as_slice())).collect();
        row.first_book(&refs)
    };
    out.extend(market(
        MarketKind::MatchOdds,
        vec![Selection::Home, Selection::Draw, Selection::Away],
        sel(&x12_open),
        sel(&x12_close),
    ));
    let ou_open = [
        ("Pinnacle", cols("P", &ou)),
        ("Bet365", cols("B365", &ou)),
        ("average", cols("Avg", &ou)),
        ("average", cols("BbAv", &ou)),
    ];
    let ou_close = [
        ("Pinnacle", cols("PC", &ou)),
        ("Bet365", cols("B365C", &ou)),
        ("average", cols("AvgC", &ou)),
    ];
    out.extend(market(
        MarketKind::OverUnder { line: Line(10) },
        vec![Selection::Over, Selection::Under],
        sel(&ou_open),
        sel(&ou_close),
    ));
    let ha = ["H", "A"];
    let line_of = |col: &str| {
        row.get(col)
            .and_then(|v| v.parse::<f64>().ok())
            .and_then(Line::from_goals)
    };
    let ah_open_line = line_of("AHh").or_else(|| line_of("BbAHh"));
    let ah_close_line = line_of("AHCh");
    let ah_open = sel(&[
        ("Pinnacle", cols("PAH", &ha)),
        ("Bet365", cols("B365AH", &ha)),
        ("average", cols("AvgAH", &ha)),
        ("average", cols("BbAvAH", &ha)),
    ]);
    let ah_close = sel(&[
        ("Pinnacle", cols("PCAH", &ha)),
        ("Bet365", cols("B365CAH", &ha)),
        ("average", cols("AvgCAH", &ha)),
    ]);
    let ah = |line: Line| MarketKind::AsianHandicap { line };
    let sides = || vec![Selection::Home, Selection::Away];
    match (ah_open_line, ah_close_line) {
        (Some(o), Some(c)) if o == c => out.extend(market(ah(o), sides(), ah_open, ah_close)),
        (o, c) => {
            if let Some(o) = o {
                out.extend(market(ah(o), sides(), ah_open, None));
            }
            if let Some(c) = c {
                out.extend(market(ah(c), sides(), None, ah_close));
            }
        }
    }
    out
}

fn parse_row(row: &Row, file_div: Option<&str>) -> Result<FdMatch, String> {
    let div = row.get("Div").or(file_div).ok_or("no Div")?.to_owned();
    let date_text = row.get("Date").ok_or("no Date")?;
    let date = parse_date(date_text).ok_or_else(|| format!("unreadable Date {date_text:?}"))?;
    let home = row.get("HomeTeam").ok_or("no HomeTeam")?.to_owned();
    let away = row.get("AwayTeam").ok_or("no AwayTeam")?.to_owned();
    let score = |h: &str, a: &str| -> Result<Score, String> {
        let g = |c: &str| {
            row.count(c)
                .filter(|v| *v <= 255)
                .map(|v| v as u8)
                .ok_or_else(|| format!("no {c}"))
        };
        Ok(Score {
            home: g(h)?,
            away: g(a)?,
        })
    };
    let full_time = score("FTHG", "FTAG")?;
    // A count past any match ever played is a corrupt row, not thousands of incidents.
    let red = [("HR", MAX_RED), ("AR", MAX_RED)];
    for (col, max) in PLAUSIBLE.iter().chain(&red) {
        if let Some(v) = row.count(col).filter(|v| v > max) {
            return Err(format!(
                "implausible {col} {v} (at most {max} per side in one match)"
            ));
        }
    }
    let half_time = match (row.get("HTHG"), row.get("HTAG")) {
        (None, None) => None,
        _ => Some(score("HTHG", "HTAG")?),
    };
    if let Some(half_time) =
        half_time.filter(|h| h.home > full_time.home || h.away > full_time.away)
    {
        return Err(format!(
            "half-time score {}-{} above full-time {}-{}",
            half_time.home, half_time.away, full_time.home, full_time.away
        ));
    }
    let ftr = row
        .get("FTR")
        .and_then(|s| s.chars().next())
        .ok_or("no FTR")?;
    let by_score = match full_time.home.cmp(&full_time.away) {
        std::cmp::Ordering::Greater => 'H',
        std::cmp::Ordering::Equal => 'D',
        std::cmp::Ordering::Less => 'A',
    };
    if ftr != by_score {
        return Err(format!(
            "FTR {ftr} disagrees with the score {}-{}",
            full_time.home, full_time.away
        ));
    }
    let (y, m, d) = date;
    let time = row.get("Time").and_then(parse_hhmm);
    let (hh, mm) = time.unwrap_or((15, 0));
    let kickoff = uk_local_to_utc(y, m, d, hh, mm);
    let pair = |h: &str, a: &str| Some([row.count(h)?, row.count(a)?]);
    let stats = (|| {
        Some(FdStats {
            shots: pair("HS", "AS")?,
            shots_on_target: pair("HST", "AST")?,
            fouls: pair("HF", "AF")?,
            corners: pair("HC", "AC")?,
            yellow: pair("HY", "AY")?,
            red: pair("HR", "AR")?,
        })
    })()
    .filter(|s| s.shots_on_target[0] <= s.shots[0] && s.shots_on_target[1] <= s.shots[1]);
    let pinnacle_close = row
        .prices(&cols("PSC", &["H", "D", "A"]))
        .map(|p| [p[0], p[1], p[2]]);
    Ok(FdMatch {
        league: league_name(&div),
        season: season_of(y, m),
        div,
        date,
        kickoff,
        kickoff_known: time.is_some(),
        home,
        away,
        referee: row.get("Referee").unwrap_or("").to_owned(),
        half_time,
        full_time,
        ftr,
        stats,
        markets: parse_markets(row),
        pinnacle_close,
    })
}

/// Reads one football-data CSV (plain or `.gz`).
pub fn read_csv(path: &Path) -> Result<FdFile> {
    let text = super::read_text(path)?;
    read_csv_text(&text, &path.display().to_string())
}

/// Reads football-data CSV text; `name` labels refusals.
pub(crate) fn read_csv_text(text: &str, name: &str) -> Result<FdFile> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: HashMap<String, usize> = rdr
        .headers()
        .with_context(|| format!("reading the header of {name}"))?
        .iter()
        .enumerate()
        // The re-save renamed `>2.5` / `<2.5`; accept the original names too.
        .map(|(i, h)| {
            (
                h.trim().replace(">2.5", "_2_5").replace("<2.5", "_2_5_1"),
                i,
            )
        })
        .collect();
    anyhow::ensure!(
        header.contains_key("HomeTeam") && header.contains_key("FTHG"),
        "{name}: not a football-data CSV (no HomeTeam / FTHG column)"
    );
    let mut out = FdFile::default();
    for rec in rdr.records() {
        let (line, raw, parsed) = match rec {
            Ok(rec) => {
                let line = rec.position().map_or(0, |p| p.line());
                let row = Row {
                    header: &header,
                    rec: &rec,
                };
                if row.get("Div").is_none() && row.get("HomeTeam").is_none() {
                    out.empty_rows += 1;
                    continue;
                }
                let raw = rec.iter().collect::<Vec<_>>().join(",");
                (line, raw, parse_row(&row, None))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                (line, String::new(), Err(format!("unreadable CSV row: {e}")))
            }
        };
        match parsed {
            Ok(m) => out.matches.push(m),
            Err(reason) => out.refused.push(Refused {
                file: name.to_owned(),
                line,
                reason,
                raw,
            }),
        }
    }
    Ok(out)
}

/// The fixture of a match (team ids from [`team_id`] of the football-data names).
pub(crate) fn fixture(m: &FdMatch, version: Version, venue: &str) -> Fixture {
    Fixture {
        version,
        league: m.league.clone(),
        season: m.season.clone(),
        kickoff: m.kickoff,
        home: TeamRef {
            id: team_id(&m.home),
            name: m.home.clone(),
        },
        away: TeamRef {
            id: team_id(&m.away),
            name: m.away.clone(),
        },
        venue: venue.to_owned(),
        referee: m.referee.clone(),
    }
}

fn market_record(version: Version, fm: &FdMarket, status: MarketStatus, phase: Phase) -> Body {
    Body::Market(Market {
        version,
        market: fm.market,
        status,
        phase,
        selections: fm.selections.clone(),
    })
}

fn push_prices(b: &mut FeedBuilder, ts: EventTime, id: MatchId, fm: &FdMarket, prices: &[f64]) {
    for (s, p) in fm.selections.iter().zip(prices) {
        b.push(ts, id, |version| {
            Body::Odds(Odds {
                version,
                market: fm.market,
                selection: *s,
                price: F64(*p),
                modelled: false,
            })
        });
    }
}

/// Pushes the prematch markets of a match: opened at `kickoff − 24 h` with the opening prices,
/// moved to the closing prices at `kickoff − 5 min` (a market with only closing prices opens
/// then; one with only opening prices keeps them; an opening-only Asian line closes there when
/// the line moved). Returns the markets still open at `kickoff − 5 min`: the caller closes or
/// turns them in play.
pub(crate) fn push_prematch_markets(
    b: &mut FeedBuilder,
    id: MatchId,
    m: &FdMatch,
) -> Vec<MarketKind> {
    let open_at = m.kickoff - OPEN_LEAD_MS;
    let close_at = m.kickoff - CLOSE_LEAD_MS;
    let mut open_at_kickoff = Vec::new();
    for fm in &m.markets {
        if let Some(p) = &fm.open {
            b.push(open_at, id, |v| {
                market_record(v, fm, MarketStatus::Open, Phase::Prematch)
            });
            push_prices(b, open_at, id, fm, p);
        }
        match (&fm.open, &fm.close) {
            (_, Some(p)) => {
                if fm.open.is_none() {
                    b.push(close_at, id, |v| {
                        market_record(v, fm, MarketStatus::Open, Phase::Prematch)
                    });
                }
                push_prices(b, close_at, id, fm, p);
                open_at_kickoff.push(fm.market);
            }
            (Some(_), None) => {
                let moved = matches!(fm.market, MarketKind::AsianHandicap { .. })
                    && m.markets.iter().any(|o| {
                        o.open.is_none() && matches!(o.market, MarketKind::AsianHandicap { .. })
                    });
                if moved {
                    b.push(close_at, id, |v| {
                        market_record(v, fm, MarketStatus::Closed, Phase::Prematch)
                    });
                } else {
                    open_at_kickoff.push(fm.market);
                }
            }
            (None, None) => {}
        }
    }
    open_at_kickoff
}

fn status(version: Version, status: MatchStatus, clock_s: i32) -> Body {
    Body::Status(Status {
        version,
        status,
        clock_s,
    })
}

/// Pushes the result (half-time and full-time score, corners when known).
pub(crate) fn push_result(b: &mut FeedBuilder, id: MatchId, m: &FdMatch, ts: EventTime) {
    b.push(ts, id, |version| {
        Body::Result(MatchResult {
            version,
            half_time: m.half_time.unwrap_or_default(),
            full_time: m.full_time,
            corners: m.stats.map(|s| Score {
                home: s.corners[0].min(255) as u8,
                away: s.corners[1].min(255) as u8,
            }),
        })
    });
}

/// Pushes one match's whole timeline (see the module docs).
pub(crate) fn push_match(b: &mut FeedBuilder, m: &FdMatch) {
    let id = m.match_id();
    let ko = m.kickoff;
    b.push(ko - FIXTURE_LEAD_MS, id, |v| {
        Body::Fixture(fixture(m, v, ""))
    });
    b.push(ko - FIXTURE_LEAD_MS, id, |v| {
        status(v, MatchStatus::Scheduled, 0)
    });
    let open = push_prematch_markets(b, id, m);
    for fm in m.markets.iter().filter(|fm| open.contains(&fm.market)) {
        b.push(ko, id, |v| {
            market_record(v, fm, MarketStatus::Closed, Phase::Prematch)
        });
    }
    b.push(ko, id, |v| status(v, MatchStatus::FirstHalf, 0));
    let mut incident = 0u32;
    let mut push_incidents =
        |b: &mut FeedBuilder, ts: EventTime, n: u32, side: Side, detail: IncidentDetail| {
            for _ in 0..n {
                incident += 1;
                let iid = incident;
                b.push(ts, id, |version| {
                    Body::Incident(Incident {
                        id: iid,
                        version,
                        side,
                        clock_s: if ts - ko <= HALF_TIME_MS {
                            45 * 60
                        } else {
                            90 * 60
                        },
                        detail,
                        cancelled: false,
                    })
                });
            }
        };
    let goal = IncidentDetail::Goal {
        player: None,
        own_goal: false,
        penalty: false,
    };
    let ht = ko + HALF_TIME_MS;
    let ft = ko + FULL_TIME_MS;
    for side in Side::BOTH {
        let first = m.half_time.map_or(0, |h| h.of(side));
        push_incidents(b, ht, first.into(), side, goal);
    }
    b.push(ht, id, |v| status(v, MatchStatus::HalfTime, 45 * 60));
    b.push(ko + SECOND_HALF_MS, id, |v| {
        status(v, MatchStatus::SecondHalf, 45 * 60)
    });
    for side in Side::BOTH {
        let second = m.full_time.of(side) - m.half_time.map_or(0, |h| h.of(side));
        push_incidents(b, ft, second.into(), side, goal);
    }
    if let Some(s) = m.stats {
        for (i, side) in Side::BOTH.into_iter().enumerate() {
            let shot = |on_target| IncidentDetail::Shot {
                player: None,
                on_target,
                xg: None,
            };
            push_incidents(b, ft, s.shots_on_target[i], side, shot(true));
            push_incidents(b, ft, s.shots[i] - s.shots_on_target[i], side, shot(false));
            push_incidents(b, ft, s.corners[i], side, IncidentDetail::Corner);
            let card = |card| IncidentDetail::Card { player: None, card };
            push_incidents(b, ft, s.yellow[i], side, card(CardKind::Yellow));
            push_incidents(b, ft, s.red[i], side, card(CardKind::Red));
            push_incidents(
                b,
                ft,
                s.fouls[i],
                side,
                IncidentDetail::Foul { player: None },
            );
        }
    }
    b.push(ft, id, |v| status(v, MatchStatus::Finished, 90 * 60));
    push_result(b, id, m, ko + RESULT_MS);
}

/// Which books the prices came from, counted over matches: `(market, opening|closing, book) → n`.
pub(crate) fn source_counts(matches: &[FdMatch]) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for m in matches {
        for fm in &m.markets {
            let name = match fm.market {
                MarketKind::MatchOdds => "1X2",
                MarketKind::OverUnder { .. } => "over/under 2.5",
                _ => "Asian handicap",
            };
            for (when, src) in [("opening", fm.open_source), ("closing", fm.close_source)] {
                if !src.is_empty() {
                    *out.entry(format!("{name} {when}: {src}")).or_default() += 1;
                }
            }
        }
    }
    out
}

/// Reads the files and builds one feed of all their matches (a match that appears twice — the
/// same division, date and teams — is imported once, and counted as a duplicate).
pub fn import(paths: &[std::path::PathBuf]) -> Result<Imported<FootballDataReport>> {
    let mut summary = FootballDataReport::default();
    let mut seen = std::collections::BTreeSet::new();
    let mut b = FeedBuilder::new();
    let mut all = Vec::new();
    for p in paths {
        let f = read_csv(p)?;
        summary.files += 1;
        summary.empty_rows += f.empty_rows;
        summary.refused.extend(f.refused);
        for m in f.matches {
            if seen.insert(m.match_id()) {
                all.push(m);
            } else {
                summary.duplicates += 1;
            }
        }
    }
    all.sort_by_key(|m| (m.kickoff, m.match_id()));
    for m in &all {
        push_match(&mut b, m);
    }
    summary.matches = all.len();
    summary.kickoff_assumed = all.iter().filter(|m| !m.kickoff_known).count();
    summary.sources = source_counts(&all);
    Ok(Imported {
        records: b.finish(),
        report: summary,
    })
}

/// What was imported, and the rows refused with their reasons.
#[derive(Clone, Debug, Default)]
pub struct FootballDataReport {
    /// Files read.
    pub files: usize,
    /// Matches imported (duplicates once).
    pub matches: usize,
    /// Rows of a match already read (same division, date and teams): not imported again.
    pub duplicates: usize,
    /// Rows skipped because `Div` was empty (trailing rows).
    pub empty_rows: usize,
    /// Matches whose file has no `Time` (kick-off assumed 15:00 UK local).
    pub kickoff_assumed: usize,
    /// The rows refused, with their reasons.
    pub refused: Vec<Refused>,
    /// Which books the prices came from: `(market, opening|closing, book) → matches`.
    pub sources: std::collections::BTreeMap<String, usize>,
}

impl ImportReport for FootballDataReport {
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "{} files, {} matches ({} duplicates, {} empty rows skipped; kick-off assumed 15:00 UK for {} without Time)",
            self.files, self.matches, self.duplicates, self.empty_rows, self.kickoff_assumed
        )];
        notes.extend(
            self.sources
                .iter()
                .map(|(k, n)| format!("  {k}: {n} matches")),
        );
        notes
    }

    fn refused(&self) -> Vec<serde_json::Value> {
        self.refused
            .iter()
            .map(|r| serde_json::json!({"file": r.file, "line": r.line, "reason": r.reason, "raw": r.raw}))
            .collect()
    }
}

/// A date as UTC midnight ms (for joins by date).
pub fn date_ms((y, m, d): (i64, u32, u32)) -> EventTime {
    utc_ms(y, m, d, 0, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn fixture_file(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/real/football-data")
            .join(name)
    }

    /// Per match: goals, corners, yellow and red cards of each side as counted in the feed.
    fn counts(records: &[Record]) -> BTreeMap<MatchId, [[u32; 4]; 2]> {
        let mut out: BTreeMap<MatchId, [[u32; 4]; 2]> = BTreeMap::new();
        for r in records {
            if let Body::Incident(i) = &r.body {
                let k = match i.detail {
                    IncidentDetail::Goal { .. } => 0,
                    IncidentDetail::Corner => 1,
                    IncidentDetail::Card {
                        card: CardKind::Yellow,
                        ..
                    } => 2,
                    IncidentDetail::Card { .. } => 3,
                    _ => continue,
                };
                out.entry(r.match_id).or_default()[i.side as usize][k] += 1;
            }
        }
        out
    }

    /// Checks an imported file against its source: counts, the settled 1X2 against `FTR`, the
    /// opening then closing prices, every match's records in a sane order.
    fn check(paths: &[PathBuf]) -> usize {
        let Imported {
            records,
            report: summary,
        } = import(paths).expect("imports");
        assert!(summary.refused.is_empty(), "{:?}", summary.refused);
        let mut source = Vec::new();
        for p in paths {
            source.extend(read_csv(p).expect("reads").matches);
        }
        let counted = counts(&records);
        let results: BTreeMap<MatchId, MatchResult> = records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Result(x) => Some((r.match_id, *x)),
                _ => None,
            })
            .collect();
        for m in &source {
            let id = m.match_id();
            let s = m.stats.expect("these files have statistics");
            let c = counted.get(&id).copied().unwrap_or_default();
            for side in 0..2 {
                let goals = [m.full_time.home, m.full_time.away][side] as u32;
                assert_eq!(
                    c[side],
                    [goals, s.corners[side], s.yellow[side], s.red[side]],
                    "{} v {} side {side}",
                    m.home,
                    m.away
                );
            }
            let r = results.get(&id).expect("a result per match");
            assert_eq!(
                super::super::settled_1x2(r),
                vec![m.ftr],
                "{} v {}",
                m.home,
                m.away
            );
        }
        // Per match: fixture first, opening prices before closing prices, markets closed at
        // kick-off, result last.
        for m in &source {
            let id = m.match_id();
            let mine: Vec<&Record> = records.iter().filter(|r| r.match_id == id).collect();
            assert!(matches!(mine[0].body, Body::Fixture(_)));
            assert!(matches!(
                mine.last().expect("records").body,
                Body::Result(_)
            ));
            let home_prices: Vec<(i64, f64)> = mine
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
            let x12 = m.market(MarketKind::MatchOdds).expect("1X2 quoted");
            let expected: Vec<(i64, f64)> = [
                x12.open.as_ref().map(|p| (m.kickoff - OPEN_LEAD_MS, p[0])),
                x12.close
                    .as_ref()
                    .map(|p| (m.kickoff - CLOSE_LEAD_MS, p[0])),
            ]
            .into_iter()
            .flatten()
            .collect();
            assert!(!expected.is_empty());
            assert_eq!(home_prices, expected);
            assert!(mine.iter().all(|r| match &r.body {
                Body::Odds(o) => r.ts < m.kickoff && !o.modelled,
                _ => true,
            }));
        }
        source.len()
    }

    #[test]
    fn excerpts_import_with_counts_results_and_prices_of_the_source() {
        let n = check(&[
            fixture_file("E0_1516_head.csv"),
            fixture_file("E0_2122_head.csv"),
        ]);
        assert_eq!(n, 16);
    }

    #[test]
    fn pinnacle_first_and_closing_lines_of_the_2019_format() {
        let f = read_csv(&fixture_file("E0_2122_head.csv")).expect("reads");
        let m = &f.matches[0];
        assert_eq!((m.home.as_str(), m.away.as_str()), ("Brentford", "Arsenal"));
        // 13/08/2021 20:00 BST = 19:00 UTC.
        assert_eq!(m.kickoff, utc_ms(2021, 8, 13, 19, 0, 0));
        assert!(m.kickoff_known);
        let x12 = m.market(MarketKind::MatchOdds).expect("1X2");
        assert_eq!(
            (x12.open_source, x12.close_source),
            ("Pinnacle", "Pinnacle")
        );
        assert_eq!(x12.open.as_deref(), Some(&[4.05, 3.46, 2.05][..]));
        assert_eq!(x12.close.as_deref(), Some(&[3.94, 3.33, 2.13][..]));
        let ou = m
            .market(MarketKind::OverUnder { line: Line(10) })
            .expect("o/u");
        assert_eq!(ou.open.as_deref(), Some(&[2.22, 1.73][..]));
        assert_eq!(ou.close.as_deref(), Some(&[2.44, 1.62][..]));
        let ah = m
            .market(MarketKind::AsianHandicap { line: Line(2) })
            .expect("AH +0.5 for the home side");
        assert_eq!(ah.open.as_deref(), Some(&[1.88, 2.06][..]));
        assert_eq!(ah.close.as_deref(), Some(&[1.81, 2.13][..]));
        assert_eq!(m.pinnacle_close, Some([3.94, 3.33, 2.13]));
        // The older format: no Time (15:00 UK local assumed), Bb aggregates for o/u and AH.
        let old = read_csv(&fixture_file("E0_1516_head.csv")).expect("reads");
        let m = &old.matches[0];
        assert!(!m.kickoff_known);
        assert_eq!(m.kickoff, utc_ms(2015, 8, 8, 14, 0, 0));
        let ou = m
            .market(MarketKind::OverUnder { line: Line(10) })
            .expect("o/u");
        assert_eq!((ou.open_source, ou.close.is_none()), ("average", true));
    }

    #[test]
    fn quirks_empty_rows_float_integers_four_digit_years_and_refusals() {
        let text = "\u{feff}Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR,HTHG,HTAG,HS,AS,HST,AST,HF,AF,HC,AC,HY,AY,HR,AR,B365H,B365D,B365A,B365>2.5,B365<2.5\n\
            D1,05/01/2013,A,B,2.0,1.0,H,1.0,0.0,11.0,7,3,2,10,12,5.0,4,1,2,0,0,1.5,4.0,6.0,1.8,2.0\n\
            D1,06/01/2013,C,D,1,1,H,0,0,5,5,1,1,10,10,3,3,1,1,0,0,2.0,3.0,4.0,,\n\
            D1,07/13/2013,E,F,1,1,D,0,0,5,5,1,1,10,10,3,3,1,1,0,0,2.0,3.0,4.0,,\n\
            ,,,,,,,,,,,,,,,,,,,,,,,,,\n\
            ,,,,,,,,,,,,,,,,,,,,,,,,,\n";
        let text = text.trim_start_matches('\u{feff}');
        let f = read_csv_text(text, "quirks.csv").expect("reads");
        assert_eq!(f.empty_rows, 2);
        assert_eq!(f.matches.len(), 1);
        let m = &f.matches[0];
        assert_eq!(m.date, (2013, 1, 5));
        assert_eq!(m.full_time, Score { home: 2, away: 1 });
        assert_eq!(m.stats.expect("stats").shots, [11, 7]);
        let ou = m
            .market(MarketKind::OverUnder { line: Line(10) })
            .expect("o/u");
        assert_eq!(
            (ou.open_source, ou.open.as_deref()),
            ("Bet365", Some(&[1.8, 2.0][..]))
        );
        let reasons: Vec<(u64, &str)> = f
            .refused
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (3, "FTR H disagrees with the score 1-1"),
                (4, "unreadable Date \"07/13/2013\"")
            ]
        );
        // A corrupt statistic refuses its row (with the reason) instead of becoming 999,999
        // incident records; the other rows import.
        let text = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR,HTHG,HTAG,HS,AS,HST,AST,HF,AF,HC,AC,HY,AY,HR,AR,B365H,B365D,B365A\n\
            D1,05/01/2013,A,B,2,1,H,1,0,999999,7,3,2,10,12,5,4,1,2,0,0,1.5,4.0,6.0\n\
            D1,06/01/2013,C,D,1,1,D,0,0,5,5,1,1,10,10,3,3,1,1,0,9,2.0,3.0,4.0\n\
            D1,07/01/2013,E,F,1,1,D,0,0,80,5,50,1,60,10,40,3,16,1,5,0,2.0,3.0,4.0\n";
        let f = read_csv_text(text, "absurd.csv").expect("reads");
        let reasons: Vec<(u64, &str)> = f
            .refused
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (
                    2,
                    "implausible HS 999999 (at most 80 per side in one match)"
                ),
                (3, "implausible AR 9 (at most 5 per side in one match)")
            ]
        );
        assert_eq!(f.matches.len(), 1, "the counts at the bounds are kept");
        let mut b = FeedBuilder::new();
        push_match(&mut b, &f.matches[0]);
        let n = b.finish().len();
        assert!(n < 400, "{n} records");
        assert_eq!(parse_date("1/2/2015"), Some((2015, 2, 1)));
        assert_eq!(parse_date("01/02/15"), Some((2015, 2, 1)));
        assert_eq!(parse_date("01-02-15"), None);
    }

    /// Every football-data file of the shared data folder, when it is there (CI clones may not
    /// have it): nothing refused, every settled 1X2 agrees with `FTR`, counts equal the source's.
    #[test]
    fn every_shared_football_data_file_imports_and_settles_like_ftr() {
        let Some(dir) = crate::import::shared_data("football-data") else {
            return;
        };
        let entries = std::fs::read_dir(&dir).expect("the football-data folder reads");
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        paths.sort();
        let mut total = 0;
        for p in &paths {
            // Some rows lack statistics in the shared files; the counts check needs them.
            let f = read_csv(p).expect("reads");
            assert!(
                f.refused.is_empty(),
                "{}: {:?}",
                p.display(),
                &f.refused[..1]
            );
            if f.matches.iter().all(|m| m.stats.is_some()) {
                total += check(std::slice::from_ref(p));
            } else {
                total += f.matches.len();
            }
        }
        assert!(total > 17_000, "{total} matches");
    }
}
