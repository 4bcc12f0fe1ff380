//! Feed files: [`Payload`] items in and out of `.jsonl`, `.jsonl.gz` and `.parquet` files.
//!
//! The format is chosen by the file name ([`FeedFormat::from_path`]).
//!
//! **Writing** ([`FeedWriter`]): a `Payload::Decoded(record)` is written as its wire JSON line
//! ([`wire::to_json_line`]) or as one typed Parquet row; a `Payload::Line(text)` (a malformed line
//! of a noisy feed) is written verbatim as a JSON line (with `'\n'` and `'\r'` replaced by spaces)
//! or in the Parquet `raw` column. Same items ⇒ same bytes in every format (gzip with no mtime and
//! a fixed OS byte; Parquet with fixed metadata).
//!
//! **Reading** ([`read_feed`] → [`FeedReader`], an iterator of `Result<Payload>`), streaming:
//! - JSON lines yield `Payload::Line(line)` for every line that is not blank (a trailing `'\r'` is
//!   stripped; invalid UTF-8 is converted lossily and left for the dataflow's parser to dead-letter).
//!   Parsing happens in the dataflow. Gzip files may hold several concatenated members.
//! - Parquet is read record batch by record batch: a row with `raw` set yields `Payload::Line(raw)`;
//!   any other row yields `Payload::Decoded(record)`, or — when it cannot be turned back into a
//!   record (unknown `kind`, missing field, bad enum string, a line that is not a multiple of
//!   0.25…) — `Payload::Line(<the row's non-null columns as a JSON object>)`, `ts` first, so that the
//!   dataflow's parser dead-letters it with a reason (`unknown_kind` or `malformed`) instead of the
//!   read failing. Only I/O errors and columns of an unusable type are errors.
//!
//! ## Parquet schema (one row per item, every column nullable)
//!
//! | column | type | kinds | meaning |
//! |---|---|---|---|
//! | `ts` | Int64 | all | event time, UTC ms |
//! | `match` | UInt64 | all | match id |
//! | `kind` | Utf8 | all | `fixture`, `lineup`, `status`, `incident`, `market`, `odds`, `result`, `abandonment` (dictionary-encoded on disk) |
//! | `version` | UInt64 | all | version of the record's key |
//! | `side` | Utf8 | lineup, incident | `home` / `away` |
//! | `clock_s` | Int32 | status, incident | match clock, seconds |
//! | `status` | Utf8 | status, market | match status (`first_half`…) or market status (`open`, `suspended`, `closed`) |
//! | `phase` | Utf8 | market | `prematch` / `in_play` |
//! | `market` | Utf8 | market, odds | `match_odds`, `over_under`, `btts`, `next_goal`, `double_chance`, `correct_score`, `asian_handicap`, `corners_over_under` |
//! | `line` | Float64 | market, odds | the line of `over_under`, `asian_handicap`, `corners_over_under` (goals, e.g. 2.5, -0.25) |
//! | `goal` | UInt8 | market, odds | the goal number of `next_goal` |
//! | `selection` | Utf8 | odds | `home`, `draw`, `away`, `over`, `under`, `yes`, `no`, `home_or_draw`, `draw_or_away`, `home_or_away`, `no_goal`, `any_other`, or a correct score as `"2-1"` (home-away) |
//! | `price` | Float64 | odds | decimal odds (NaN kept: validation rejects it) |
//! | `selections_json` | Utf8 | market | JSON array of the market's selections in the `selection` form, e.g. `["home","draw","away"]` |
//! | `id` | UInt32 | incident | provider incident id |
//! | `detail` | Utf8 | incident | `goal`, `corner`, `card`, `shot`, `foul`, `attack`, `dangerous_attack`, `possession`, `substitution`, `penalty_awarded`, `var` |
//! | `player` | UInt32 | incident | player of a goal, card, shot or foul (null when unknown) |
//! | `own_goal`, `penalty` | Boolean | incident | goal flags |
//! | `on_target` | Boolean | incident | shot on target |
//! | `xg` | Float64 | incident | shot xG (null when unknown) |
//! | `card` | Utf8 | incident | `yellow`, `second_yellow`, `red` |
//! | `share` | UInt8 | incident | possession share in percent |
//! | `player_out`, `player_in` | UInt32 | incident | substitution |
//! | `decision` | Utf8 | incident | VAR decision: `goal_confirmed`, `goal_overturned`, `penalty_awarded`, `penalty_overturned`, `red_card` |
//! | `reviews` | UInt32 | incident | the incident id a VAR decision reviews |
//! | `cancelled` | Boolean | incident | the incident is withdrawn |
//! | `league`, `season` | Utf8 | fixture | |
//! | `kickoff` | Int64 | fixture | kick-off, UTC ms |
//! | `home_id`, `away_id` | UInt32 | fixture | team ids |
//! | `home_name`, `away_name`, `venue`, `referee` | Utf8 | fixture | |
//! | `formation` | Utf8 | lineup | e.g. `4-2-3-1` |
//! | `players_json` | Utf8 | lineup | JSON array of players: `[{"id":7,"name":"…","position":"ST","starter":true},…]` |
//! | `ht_home`, `ht_away`, `ft_home`, `ft_away` | UInt8 | result | half-time and full-time score |
//! | `corners_home`, `corners_away` | UInt8 | result | final corners (null when not settled) |
//! | `reason` | Utf8 | abandonment | |
//! | `raw` | Utf8 | — | a `Payload::Line` item (every other column null) |
//!
//! Files are written with snappy compression, record batches of [`BATCH_ROWS`] rows and row
//! groups of [`ROW_GROUP_ROWS`](crate::io::table::ROW_GROUP_ROWS) rows. When reading, integer columns of any width, any Arrow string
//! type (plain, large, view or dictionary) and missing columns (as nulls) are accepted, so files
//! rewritten by pandas or DuckDB still read.
//!
//! [`convert_feed`] rewrites a feed in another format; towards Parquet it decodes the JSON lines
//! that parse, so that they become typed rows.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder};
use arrow_array::types::{Int32Type, Int64Type, UInt8Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde::Serialize;

use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;
use oddsflow_dataflows::wire;

use crate::io::table::{
    BATCH_ROWS, bool_values, create_file, float_values, int_values, parquet_props, string_values,
};

// ---------------------------------------------------------------------------------------------
// Formats

/// A feed file format, told by the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeedFormat {
    /// `.jsonl`: one JSON line per item.
    Jsonl,
    /// `.jsonl.gz`: gzip of the same.
    JsonlGz,
    /// `.parquet`: one typed row per item (see the module docs).
    Parquet,
}

impl FeedFormat {
    /// The format of `path` by its extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".jsonl.gz") {
            Ok(FeedFormat::JsonlGz)
        } else if name.ends_with(".jsonl") {
            Ok(FeedFormat::Jsonl)
        } else if name.ends_with(".parquet") {
            Ok(FeedFormat::Parquet)
        } else {
            bail!(
                "cannot tell the feed format of {}: the file name must end in .jsonl, .jsonl.gz or .parquet",
                path.display()
            )
        }
    }

    /// The file extension, without the leading dot.
    pub fn extension(self) -> &'static str {
        match self {
            FeedFormat::Jsonl => "jsonl",
            FeedFormat::JsonlGz => "jsonl.gz",
            FeedFormat::Parquet => "parquet",
        }
    }

    /// The unit of [`feed_len_hint`] and [`FeedReader::progress`]: `"bytes"` (of the file, as
    /// stored: compressed for gzip) for JSON formats, `"rows"` for Parquet.
    pub fn progress_unit(self) -> &'static str {
        match self {
            FeedFormat::Jsonl | FeedFormat::JsonlGz => "bytes",
            FeedFormat::Parquet => "rows",
        }
    }
}

/// The size of a feed for a progress bar, in [`FeedFormat::progress_unit`]s: the file size for
/// JSON formats, the row count (from the footer) for Parquet. `None` if it cannot be had cheaply.
pub fn feed_len_hint(path: &Path) -> Option<u64> {
    match FeedFormat::from_path(path).ok()? {
        FeedFormat::Jsonl | FeedFormat::JsonlGz => std::fs::metadata(path).ok().map(|m| m.len()),
        FeedFormat::Parquet => {
            let file = File::open(path).ok()?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
            u64::try_from(builder.metadata().file_metadata().num_rows()).ok()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Short string forms of the model's enums (the same names as their serde snake_case form)

macro_rules! short_names {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl ShortName for $ty {
            fn short(&self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }
            fn parse_short(s: &str) -> Option<Self> {
                match s { $($name => Some($ty::$variant),)* _ => None }
            }
        }
    };
}

trait ShortName: Sized {
    fn short(&self) -> &'static str;
    fn parse_short(s: &str) -> Option<Self>;
}

short_names!(Side { Home => "home", Away => "away" });
short_names!(MatchStatus {
    Scheduled => "scheduled",
    FirstHalf => "first_half",
    HalfTime => "half_time",
    SecondHalf => "second_half",
    Finished => "finished",
    Abandoned => "abandoned",
    Postponed => "postponed",
});
short_names!(CardKind { Yellow => "yellow", SecondYellow => "second_yellow", Red => "red" });
short_names!(VarDecision {
    GoalConfirmed => "goal_confirmed",
    GoalOverturned => "goal_overturned",
    PenaltyAwarded => "penalty_awarded",
    PenaltyOverturned => "penalty_overturned",
    RedCard => "red_card",
});
short_names!(MarketStatus { Open => "open", Suspended => "suspended", Closed => "closed" });
short_names!(Phase { Prematch => "prematch", InPlay => "in_play" });

fn parse<T: ShortName>(s: &Option<String>) -> Option<T> {
    T::parse_short(s.as_deref()?)
}

/// `home`, …, or a correct score as `"2-1"`.
pub fn selection_short(s: Selection) -> String {
    let name = match s {
        Selection::Home => "home",
        Selection::Draw => "draw",
        Selection::Away => "away",
        Selection::Over => "over",
        Selection::Under => "under",
        Selection::Yes => "yes",
        Selection::No => "no",
        Selection::HomeOrDraw => "home_or_draw",
        Selection::DrawOrAway => "draw_or_away",
        Selection::HomeOrAway => "home_or_away",
        Selection::NoGoal => "no_goal",
        Selection::AnyOther => "any_other",
        Selection::Score { home, away } => return format!("{home}-{away}"),
    };
    name.to_owned()
}

fn parse_selection(s: &str) -> Option<Selection> {
    Some(match s {
        "home" => Selection::Home,
        "draw" => Selection::Draw,
        "away" => Selection::Away,
        "over" => Selection::Over,
        "under" => Selection::Under,
        "yes" => Selection::Yes,
        "no" => Selection::No,
        "home_or_draw" => Selection::HomeOrDraw,
        "draw_or_away" => Selection::DrawOrAway,
        "home_or_away" => Selection::HomeOrAway,
        "no_goal" => Selection::NoGoal,
        "any_other" => Selection::AnyOther,
        _ => {
            let (h, a) = s.split_once('-')?;
            Selection::Score {
                home: h.parse().ok()?,
                away: a.parse().ok()?,
            }
        }
    })
}

/// The market's short name, line (goals) and goal number.
pub fn market_short(m: MarketKind) -> (&'static str, Option<f64>, Option<u8>) {
    match m {
        MarketKind::MatchOdds => ("match_odds", None, None),
        MarketKind::OverUnder { line } => ("over_under", Some(line.goals()), None),
        MarketKind::Btts => ("btts", None, None),
        MarketKind::NextGoal { goal } => ("next_goal", None, Some(goal)),
        MarketKind::DoubleChance => ("double_chance", None, None),
        MarketKind::CorrectScore => ("correct_score", None, None),
        MarketKind::AsianHandicap { line } => ("asian_handicap", Some(line.goals()), None),
        MarketKind::CornersOverUnder { line } => ("corners_over_under", Some(line.goals()), None),
    }
}

fn parse_market(f: &FlatRow) -> Option<MarketKind> {
    let line = || f.line.and_then(|l| Line::from_goals(l.0));
    Some(match f.market.as_deref()? {
        "match_odds" => MarketKind::MatchOdds,
        "over_under" => MarketKind::OverUnder { line: line()? },
        "btts" => MarketKind::Btts,
        "next_goal" => MarketKind::NextGoal { goal: f.goal? },
        "double_chance" => MarketKind::DoubleChance,
        "correct_score" => MarketKind::CorrectScore,
        "asian_handicap" => MarketKind::AsianHandicap { line: line()? },
        "corners_over_under" => MarketKind::CornersOverUnder { line: line()? },
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The flat Parquet row

/// A Rust type stored in one nullable Arrow column.
trait ColumnType: Sized {
    fn data_type() -> DataType;
    fn to_array<'a>(values: impl Iterator<Item = &'a Option<Self>>) -> ArrayRef
    where
        Self: 'a;
    /// The column's values, or `None` when the column's type cannot hold `Self`.
    fn from_array(a: &dyn Array) -> Option<Vec<Option<Self>>>;
}

macro_rules! int_column {
    ($($rust:ty => $arrow:ty, $dt:ident;)*) => {$(
        impl ColumnType for $rust {
            fn data_type() -> DataType {
                DataType::$dt
            }
            fn to_array<'a>(values: impl Iterator<Item = &'a Option<Self>>) -> ArrayRef {
                Arc::new(values.copied().collect::<PrimitiveArray<$arrow>>())
            }
            /// Integers of any width; a value out of this type's range reads as null.
            fn from_array(a: &dyn Array) -> Option<Vec<Option<Self>>> {
                Some(int_values(a)?.into_iter().map(|v| v.and_then(|v| <$rust>::try_from(v).ok())).collect())
            }
        }
    )*};
}

int_column! {
    i64 => Int64Type, Int64;
    u64 => UInt64Type, UInt64;
    i32 => Int32Type, Int32;
    u32 => UInt32Type, UInt32;
    u8 => UInt8Type, UInt8;
}

impl ColumnType for F64 {
    fn data_type() -> DataType {
        DataType::Float64
    }
    fn to_array<'a>(values: impl Iterator<Item = &'a Option<Self>>) -> ArrayRef {
        let mut b = Float64Builder::new();
        values.for_each(|v| b.append_option(v.map(|x| x.0)));
        Arc::new(b.finish())
    }
    fn from_array(a: &dyn Array) -> Option<Vec<Option<Self>>> {
        Some(float_values(a)?.into_iter().map(|v| v.map(F64)).collect())
    }
}

impl ColumnType for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn to_array<'a>(values: impl Iterator<Item = &'a Option<Self>>) -> ArrayRef {
        let mut b = BooleanBuilder::new();
        values.for_each(|v| b.append_option(*v));
        Arc::new(b.finish())
    }
    fn from_array(a: &dyn Array) -> Option<Vec<Option<Self>>> {
        bool_values(a)
    }
}

impl ColumnType for String {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn to_array<'a>(values: impl Iterator<Item = &'a Option<Self>>) -> ArrayRef {
        let mut b = StringBuilder::new();
        values.for_each(|v| b.append_option(v.as_deref()));
        Arc::new(b.finish())
    }
    fn from_array(a: &dyn Array) -> Option<Vec<Option<Self>>> {
        string_values(a)
    }
}

/// Declares [`FlatRow`] (one Parquet row, also serializable as the fallback JSON object of a row
/// that is not a record) and the column list, in file order, from one table.
macro_rules! flat_row {
    ($($field:ident : $ty:ty = $col:literal,)*) => {
        #[derive(Clone, Debug, Default, PartialEq, Serialize)]
        struct FlatRow {
            $(
                #[serde(rename = $col, skip_serializing_if = "Option::is_none")]
                $field: Option<$ty>,
            )*
        }

        /// The Parquet feed columns, in file order.
        pub const FEED_COLUMNS: &[&str] = &[$($col),*];

        fn feed_schema() -> SchemaRef {
            Arc::new(Schema::new(vec![$(Field::new($col, <$ty as ColumnType>::data_type(), true)),*]))
        }

        impl FlatRow {
            fn to_arrays(rows: &[FlatRow]) -> Vec<ArrayRef> {
                vec![$(<$ty as ColumnType>::to_array(rows.iter().map(|r| &r.$field))),*]
            }

            fn from_batch(batch: &RecordBatch) -> Result<Vec<FlatRow>> {
                let mut rows = vec![FlatRow::default(); batch.num_rows()];
                $(
                    if let Some(a) = batch.column_by_name($col) {
                        let values = <$ty as ColumnType>::from_array(a.as_ref()).ok_or_else(|| {
                            anyhow!(
                                "column `{}` has type {}, which cannot be read as {}",
                                $col,
                                a.data_type(),
                                <$ty as ColumnType>::data_type()
                            )
                        })?;
                        for (row, v) in rows.iter_mut().zip(values) {
                            row.$field = v;
                        }
                    }
                )*
                Ok(rows)
            }
        }
    };
}

flat_row! {
    ts: i64 = "ts",
    match_id: u64 = "match",
    kind: String = "kind",
    version: u64 = "version",
    side: String = "side",
    clock_s: i32 = "clock_s",
    status: String = "status",
    phase: String = "phase",
    market: String = "market",
    line: F64 = "line",
    goal: u8 = "goal",
    selection: String = "selection",
    price: F64 = "price",
    modelled: bool = "modelled",
    selections_json: String = "selections_json",
    id: u32 = "id",
    detail: String = "detail",
    player: u32 = "player",
    own_goal: bool = "own_goal",
    penalty: bool = "penalty",
    on_target: bool = "on_target",
    xg: F64 = "xg",
    card: String = "card",
    share: u8 = "share",
    player_out: u32 = "player_out",
    player_in: u32 = "player_in",
    decision: String = "decision",
    reviews: u32 = "reviews",
    cancelled: bool = "cancelled",
    league: String = "league",
    season: String = "season",
    kickoff: i64 = "kickoff",
    home_id: u32 = "home_id",
    home_name: String = "home_name",
    away_id: u32 = "away_id",
    away_name: String = "away_name",
    venue: String = "venue",
    referee: String = "referee",
    formation: String = "formation",
    players_json: String = "players_json",
    ht_home: u8 = "ht_home",
    ht_away: u8 = "ht_away",
    ft_home: u8 = "ft_home",
    ft_away: u8 = "ft_away",
    corners_home: u8 = "corners_home",
    corners_away: u8 = "corners_away",
    reason: String = "reason",
    raw: String = "raw",
}

fn some_str(s: &str) -> Option<String> {
    Some(s.to_owned())
}

impl FlatRow {
    fn of_line(line: &str) -> FlatRow {
        FlatRow {
            raw: some_str(line),
            ..FlatRow::default()
        }
    }

    fn of_record(r: &Record) -> FlatRow {
        let mut f = FlatRow {
            ts: Some(r.ts),
            match_id: Some(r.match_id),
            kind: some_str(r.body.kind()),
            version: Some(r.body.version()),
            ..FlatRow::default()
        };
        match &r.body {
            Body::Fixture(x) => {
                f.league = some_str(&x.league);
                f.season = some_str(&x.season);
                f.kickoff = Some(x.kickoff);
                f.home_id = Some(x.home.id);
                f.home_name = some_str(&x.home.name);
                f.away_id = Some(x.away.id);
                f.away_name = some_str(&x.away.name);
                f.venue = some_str(&x.venue);
                f.referee = some_str(&x.referee);
            }
            Body::Lineup(x) => {
                f.side = some_str(x.side.short());
                f.formation = some_str(&x.formation);
                // Serializing plain structs to a String cannot fail.
                f.players_json = serde_json::to_string(&x.players).ok();
            }
            Body::Status(x) => {
                f.status = some_str(x.status.short());
                f.clock_s = Some(x.clock_s);
            }
            Body::Incident(x) => {
                f.id = Some(x.id);
                f.side = some_str(x.side.short());
                f.clock_s = Some(x.clock_s);
                f.cancelled = Some(x.cancelled);
                let detail = match x.detail {
                    IncidentDetail::Goal {
                        player,
                        own_goal,
                        penalty,
                    } => {
                        f.player = player;
                        f.own_goal = Some(own_goal);
                        f.penalty = Some(penalty);
                        "goal"
                    }
                    IncidentDetail::Corner => "corner",
                    IncidentDetail::Card { player, card } => {
                        f.player = player;
                        f.card = some_str(card.short());
                        "card"
                    }
                    IncidentDetail::Shot {
                        player,
                        on_target,
                        xg,
                    } => {
                        f.player = player;
                        f.on_target = Some(on_target);
                        f.xg = xg;
                        "shot"
                    }
                    IncidentDetail::Foul { player } => {
                        f.player = player;
                        "foul"
                    }
                    IncidentDetail::Attack => "attack",
                    IncidentDetail::DangerousAttack => "dangerous_attack",
                    IncidentDetail::Possession { share } => {
                        f.share = Some(share);
                        "possession"
                    }
                    IncidentDetail::Substitution {
                        player_out,
                        player_in,
                    } => {
                        f.player_out = Some(player_out);
                        f.player_in = Some(player_in);
                        "substitution"
                    }
                    IncidentDetail::PenaltyAwarded => "penalty_awarded",
                    IncidentDetail::Var { decision, reviews } => {
                        f.decision = some_str(decision.short());
                        f.reviews = Some(reviews);
                        "var"
                    }
                };
                f.detail = some_str(detail);
            }
            Body::Market(x) => {
                f.set_market(x.market);
                f.status = some_str(x.status.short());
                f.phase = some_str(x.phase.short());
                let selections: Vec<String> =
                    x.selections.iter().map(|s| selection_short(*s)).collect();
                f.selections_json = serde_json::to_string(&selections).ok();
            }
            Body::Odds(x) => {
                f.set_market(x.market);
                f.selection = Some(selection_short(x.selection));
                f.price = Some(x.price);
                f.modelled = Some(x.modelled);
            }
            Body::Result(x) => {
                f.ht_home = Some(x.half_time.home);
                f.ht_away = Some(x.half_time.away);
                f.ft_home = Some(x.full_time.home);
                f.ft_away = Some(x.full_time.away);
                f.corners_home = x.corners.map(|c| c.home);
                f.corners_away = x.corners.map(|c| c.away);
            }
            Body::Abandonment(x) => f.reason = some_str(&x.reason),
        }
        f
    }

    fn set_market(&mut self, m: MarketKind) {
        let (name, line, goal) = market_short(m);
        self.market = some_str(name);
        self.line = line.map(F64);
        self.goal = goal;
    }

    /// The record of a structured row, or `None` if the row is not a valid record.
    fn to_record(&self) -> Option<Record> {
        let f = self;
        let version = f.version?;
        let body = match f.kind.as_deref()? {
            "fixture" => Body::Fixture(Fixture {
                version,
                league: f.league.clone()?,
                season: f.season.clone()?,
                kickoff: f.kickoff?,
                home: TeamRef {
                    id: f.home_id?,
                    name: f.home_name.clone()?,
                },
                away: TeamRef {
                    id: f.away_id?,
                    name: f.away_name.clone()?,
                },
                venue: f.venue.clone()?,
                referee: f.referee.clone()?,
            }),
            "lineup" => Body::Lineup(Lineup {
                version,
                side: parse(&f.side)?,
                formation: f.formation.clone()?,
                players: serde_json::from_str(f.players_json.as_deref()?).ok()?,
            }),
            "status" => Body::Status(Status {
                version,
                status: parse(&f.status)?,
                clock_s: f.clock_s?,
            }),
            "incident" => {
                let detail = match f.detail.as_deref()? {
                    "goal" => IncidentDetail::Goal {
                        player: f.player,
                        own_goal: f.own_goal?,
                        penalty: f.penalty?,
                    },
                    "corner" => IncidentDetail::Corner,
                    "card" => IncidentDetail::Card {
                        player: f.player,
                        card: parse(&f.card)?,
                    },
                    "shot" => IncidentDetail::Shot {
                        player: f.player,
                        on_target: f.on_target?,
                        xg: f.xg,
                    },
                    "foul" => IncidentDetail::Foul { player: f.player },
                    "attack" => IncidentDetail::Attack,
                    "dangerous_attack" => IncidentDetail::DangerousAttack,
                    "possession" => IncidentDetail::Possession { share: f.share? },
                    "substitution" => IncidentDetail::Substitution {
                        player_out: f.player_out?,
                        player_in: f.player_in?,
                    },
                    "penalty_awarded" => IncidentDetail::PenaltyAwarded,
                    "var" => IncidentDetail::Var {
                        decision: parse(&f.decision)?,
                        reviews: f.reviews?,
                    },
                    _ => return None,
                };
                Body::Incident(Incident {
                    id: f.id?,
                    version,
                    side: parse(&f.side)?,
                    clock_s: f.clock_s?,
                    detail,
                    cancelled: f.cancelled?,
                })
            }
            "market" => {
                let names: Vec<String> =
                    serde_json::from_str(f.selections_json.as_deref()?).ok()?;
                let selections = names
                    .iter()
                    .map(|s| parse_selection(s))
                    .collect::<Option<Vec<_>>>()?;
                Body::Market(Market {
                    version,
                    market: parse_market(f)?,
                    status: parse(&f.status)?,
                    phase: parse(&f.phase)?,
                    selections,
                })
            }
            "odds" => Body::Odds(Odds {
                version,
                market: parse_market(f)?,
                selection: parse_selection(f.selection.as_deref()?)?,
                price: f.price?,
                modelled: f.modelled.unwrap_or(false),
            }),
            "result" => Body::Result(MatchResult {
                version,
                half_time: Score {
                    home: f.ht_home?,
                    away: f.ht_away?,
                },
                full_time: Score {
                    home: f.ft_home?,
                    away: f.ft_away?,
                },
                corners: match (f.corners_home, f.corners_away) {
                    (Some(home), Some(away)) => Some(Score { home, away }),
                    (None, None) => None,
                    _ => return None,
                },
            }),
            "abandonment" => Body::Abandonment(Abandonment {
                version,
                reason: f.reason.clone()?,
            }),
            _ => return None,
        };
        Some(Record {
            ts: f.ts?,
            match_id: f.match_id?,
            body,
        })
    }

    /// The feed item of a row read back.
    fn into_payload(self) -> Payload {
        if let Some(raw) = self.raw {
            return Payload::Line(raw);
        }
        match self.to_record() {
            Some(r) => Payload::Decoded(r),
            // Field order puts `ts` first (cheap `peek_ts`); NaN floats become "NaN" strings.
            None => Payload::Line(serde_json::to_string(&self).unwrap_or_else(|_| "{}".to_owned())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Writes feed items to a file; call [`FeedWriter::finish`] at the end (a Parquet file is not
/// valid before, and a dropped gzip stream may lose its end).
pub struct FeedWriter {
    path: PathBuf,
    sink: Sink,
    items: u64,
}

enum Sink {
    Jsonl(BufWriter<File>),
    JsonlGz(GzEncoder<BufWriter<File>>),
    Parquet {
        writer: Box<ArrowWriter<BufWriter<File>>>,
        schema: SchemaRef,
        rows: Vec<FlatRow>,
    },
}

/// Writes one JSON line; embedded line breaks become spaces.
fn write_json_line(out: &mut dyn Write, line: &str) -> io::Result<()> {
    if line.contains(['\n', '\r']) {
        out.write_all(line.replace(['\n', '\r'], " ").as_bytes())?;
    } else {
        out.write_all(line.as_bytes())?;
    }
    out.write_all(b"\n")
}

impl FeedWriter {
    /// Creates (truncates) `path`, and its parent directories, in the format its name tells.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let format = FeedFormat::from_path(path)?;
        let out = create_file(path)?;
        let sink = match format {
            FeedFormat::Jsonl => Sink::Jsonl(out),
            FeedFormat::JsonlGz => Sink::JsonlGz(
                // mtime 0 and a fixed OS byte: deterministic bytes on every platform.
                flate2::GzBuilder::new()
                    .operating_system(255)
                    .write(out, flate2::Compression::default()),
            ),
            FeedFormat::Parquet => {
                let schema = feed_schema();
                let writer = ArrowWriter::try_new(out, schema.clone(), Some(parquet_props()))
                    .with_context(|| format!("creating {}", path.display()))?;
                Sink::Parquet {
                    writer: Box::new(writer),
                    schema,
                    rows: Vec::with_capacity(BATCH_ROWS),
                }
            }
        };
        Ok(FeedWriter {
            path: path.to_owned(),
            sink,
            items: 0,
        })
    }

    /// The file's format.
    pub fn format(&self) -> FeedFormat {
        match self.sink {
            Sink::Jsonl(_) => FeedFormat::Jsonl,
            Sink::JsonlGz(_) => FeedFormat::JsonlGz,
            Sink::Parquet { .. } => FeedFormat::Parquet,
        }
    }

    /// Items written so far.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// Appends one item.
    pub fn write(&mut self, item: &Payload) -> Result<()> {
        match item {
            Payload::Line(line) => self.write_line(line),
            Payload::Decoded(record) => self.write_record(record),
        }
    }

    /// Appends a record (as `write(&Payload::Decoded(record))`, without the clone).
    pub fn write_record(&mut self, record: &Record) -> Result<()> {
        match &mut self.sink {
            Sink::Jsonl(out) => write_json_line(out, &wire::to_json_line(record)),
            Sink::JsonlGz(out) => write_json_line(out, &wire::to_json_line(record)),
            Sink::Parquet { rows, .. } => {
                rows.push(FlatRow::of_record(record));
                Ok(())
            }
        }
        .with_context(|| format!("writing {}", self.path.display()))?;
        self.after_item()
    }

    /// Appends a raw (possibly malformed) line (as `write(&Payload::Line(..))`).
    pub fn write_line(&mut self, line: &str) -> Result<()> {
        match &mut self.sink {
            Sink::Jsonl(out) => write_json_line(out, line),
            Sink::JsonlGz(out) => write_json_line(out, line),
            Sink::Parquet { rows, .. } => {
                rows.push(FlatRow::of_line(line));
                Ok(())
            }
        }
        .with_context(|| format!("writing {}", self.path.display()))?;
        self.after_item()
    }

    fn after_item(&mut self) -> Result<()> {
        self.items += 1;
        if let Sink::Parquet { rows, .. } = &self.sink
            && rows.len() >= BATCH_ROWS
        {
            self.flush_rows()?;
        }
        Ok(())
    }

    fn flush_rows(&mut self) -> Result<()> {
        let ctx = || format!("writing {}", self.path.display());
        if let Sink::Parquet {
            writer,
            schema,
            rows,
        } = &mut self.sink
            && !rows.is_empty()
        {
            let batch =
                RecordBatch::try_new(schema.clone(), FlatRow::to_arrays(rows)).with_context(ctx)?;
            rows.clear();
            writer.write(&batch).with_context(ctx)?;
        }
        Ok(())
    }

    /// Flushes and closes the file.
    pub fn finish(mut self) -> Result<()> {
        self.flush_rows()?;
        let ctx = || format!("finishing {}", self.path.display());
        match self.sink {
            Sink::Jsonl(mut out) => out.flush().with_context(ctx)?,
            Sink::JsonlGz(gz) => gz.finish().with_context(ctx)?.flush().with_context(ctx)?,
            Sink::Parquet { writer, .. } => (*writer)
                .into_inner()
                .with_context(ctx)?
                .flush()
                .with_context(ctx)?,
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Counts the bytes read from a file, for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The items of a feed file, streamed (see the module docs). After an error it yields nothing
/// more.
pub struct FeedReader {
    path: PathBuf,
    format: FeedFormat,
    source: Source,
    progress: Arc<AtomicU64>,
    done: bool,
}

enum Source {
    Json {
        lines: Box<dyn BufRead + Send>,
        buf: Vec<u8>,
    },
    Parquet {
        batches: ParquetRecordBatchReader,
        pending: std::vec::IntoIter<Payload>,
    },
}

/// Opens a feed file for reading, in the format its name tells.
pub fn read_feed(path: impl AsRef<Path>) -> Result<FeedReader> {
    let path = path.as_ref();
    let format = FeedFormat::from_path(path)?;
    let ctx = || format!("opening {}", path.display());
    let file = File::open(path).with_context(ctx)?;
    let progress = Arc::new(AtomicU64::new(0));
    let source = match format {
        FeedFormat::Jsonl => {
            let counting = Counting {
                inner: file,
                count: progress.clone(),
            };
            Source::Json {
                lines: Box::new(BufReader::with_capacity(1 << 16, counting)),
                buf: Vec::new(),
            }
        }
        FeedFormat::JsonlGz => {
            let counting = Counting {
                inner: file,
                count: progress.clone(),
            };
            let gz = MultiGzDecoder::new(BufReader::with_capacity(1 << 16, counting));
            Source::Json {
                lines: Box::new(BufReader::with_capacity(1 << 16, gz)),
                buf: Vec::new(),
            }
        }
        FeedFormat::Parquet => {
            let batches = ParquetRecordBatchReaderBuilder::try_new(file)
                .with_context(ctx)?
                .with_batch_size(BATCH_ROWS)
                .build()
                .with_context(ctx)?;
            Source::Parquet {
                batches,
                pending: Vec::new().into_iter(),
            }
        }
    };
    Ok(FeedReader {
        path: path.to_owned(),
        format,
        source,
        progress,
        done: false,
    })
}

impl FeedReader {
    pub fn format(&self) -> FeedFormat {
        self.format
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How far the reader is, in the unit of [`feed_len_hint`] (bytes of the file read so far for
    /// JSON formats, a little ahead of the items because of buffering; rows yielded for Parquet).
    pub fn progress(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }

    fn fail(&mut self, e: anyhow::Error) -> Option<Result<Payload>> {
        self.done = true;
        Some(Err(e.context(format!("reading {}", self.path.display()))))
    }
}

impl Iterator for FeedReader {
    type Item = Result<Payload>;

    fn next(&mut self) -> Option<Result<Payload>> {
        if self.done {
            return None;
        }
        match &mut self.source {
            Source::Json { lines, buf } => loop {
                buf.clear();
                match lines.read_until(b'\n', buf) {
                    Ok(0) => {
                        self.done = true;
                        return None;
                    }
                    Ok(_) => {
                        if buf.last() == Some(&b'\n') {
                            buf.pop();
                        }
                        if buf.last() == Some(&b'\r') {
                            buf.pop();
                        }
                        if buf.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        let line = match String::from_utf8(std::mem::take(buf)) {
                            Ok(s) => s,
                            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                        };
                        return Some(Ok(Payload::Line(line)));
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return self.fail(e.into()),
                }
            },
            Source::Parquet { batches, pending } => loop {
                if let Some(item) = pending.next() {
                    self.progress.fetch_add(1, Ordering::Relaxed);
                    return Some(Ok(item));
                }
                match batches.next() {
                    None => {
                        self.done = true;
                        return None;
                    }
                    Some(Err(e)) => return self.fail(e.into()),
                    Some(Ok(batch)) => match FlatRow::from_batch(&batch) {
                        Ok(rows) => {
                            *pending = rows
                                .into_iter()
                                .map(FlatRow::into_payload)
                                .collect::<Vec<_>>()
                                .into_iter()
                        }
                        Err(e) => return self.fail(e),
                    },
                }
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conversion

/// The item as a typed store keeps it best: a JSON line that parses becomes
/// `Payload::Decoded`; anything else is unchanged.
pub fn decode_if_valid(item: Payload) -> Payload {
    match item {
        Payload::Line(line) => match wire::parse_json_line(&line) {
            Ok(record) => Payload::Decoded(record),
            Err(_) => Payload::Line(line),
        },
        decoded => decoded,
    }
}

/// Rewrites the feed `src` as `dst` (formats by file name) and returns the number of items.
/// Towards Parquet, lines that parse are stored as typed rows ([`decode_if_valid`]) and the others
/// in `raw`; towards JSON, every item becomes its line.
pub fn convert_feed(src: &Path, dst: &Path) -> Result<u64> {
    let mut writer = FeedWriter::create(dst)?;
    let typed = writer.format() == FeedFormat::Parquet;
    for item in read_feed(src)? {
        let item = item?;
        let item = if typed { decode_if_valid(item) } else { item };
        writer.write(&item)?;
    }
    let n = writer.items();
    writer.finish()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::io::table::ROW_GROUP_ROWS;
    use oddsflow_dataflows::reject::RejectReason;

    const T0: i64 = 1_700_000_000_000;

    fn rec(i: usize, match_id: MatchId, body: Body) -> Payload {
        Payload::Decoded(Record {
            ts: T0 + i as i64 * 1000,
            match_id,
            body,
        })
    }

    /// Every body kind, every market kind, incident detail and selection, and some noise.
    fn sample_items() -> Vec<Payload> {
        let mut bodies = vec![Body::Fixture(Fixture {
            version: 1,
            league: "EPL".into(),
            season: "2015-16".into(),
            kickoff: T0 + 3_600_000,
            home: TeamRef {
                id: 11,
                name: "Arsenal".into(),
            },
            away: TeamRef {
                id: 12,
                name: "Tottenham \"Spurs\" Hotspur".into(),
            },
            venue: "Emirates, London".into(),
            referee: "M. Oliver".into(),
        })];
        for (side, formation) in [(Side::Home, "4-2-3-1"), (Side::Away, "3-5-2")] {
            bodies.push(Body::Lineup(Lineup {
                version: 2,
                side,
                formation: formation.into(),
                players: vec![
                    Player {
                        id: 1,
                        name: "Čech".into(),
                        position: "GK".into(),
                        starter: true,
                    },
                    Player {
                        id: 9,
                        name: "Giroud".into(),
                        position: "ST".into(),
                        starter: false,
                    },
                ],
            }));
        }
        bodies.push(Body::Lineup(Lineup {
            version: 3,
            side: Side::Home,
            formation: "4-4-2".into(),
            players: vec![],
        }));
        for (i, status) in [
            MatchStatus::Scheduled,
            MatchStatus::FirstHalf,
            MatchStatus::HalfTime,
            MatchStatus::SecondHalf,
            MatchStatus::Finished,
            MatchStatus::Abandoned,
            MatchStatus::Postponed,
        ]
        .into_iter()
        .enumerate()
        {
            bodies.push(Body::Status(Status {
                version: i as u64 + 1,
                status,
                clock_s: i as i32 * 1000 - 5,
            }));
        }
        let details = [
            IncidentDetail::Goal {
                player: Some(9),
                own_goal: false,
                penalty: true,
            },
            IncidentDetail::Goal {
                player: None,
                own_goal: true,
                penalty: false,
            },
            IncidentDetail::Corner,
            IncidentDetail::Card {
                player: Some(4),
                card: CardKind::Yellow,
            },
            IncidentDetail::Card {
                player: None,
                card: CardKind::SecondYellow,
            },
            IncidentDetail::Card {
                player: Some(5),
                card: CardKind::Red,
            },
            IncidentDetail::Shot {
                player: Some(9),
                on_target: true,
                xg: Some(F64(0.31)),
            },
            IncidentDetail::Shot {
                player: None,
                on_target: false,
                xg: None,
            },
            IncidentDetail::Shot {
                player: Some(7),
                on_target: false,
                xg: Some(F64(f64::NAN)),
            },
            IncidentDetail::Foul { player: Some(3) },
            IncidentDetail::Foul { player: None },
            IncidentDetail::Attack,
            IncidentDetail::DangerousAttack,
            IncidentDetail::Possession { share: 57 },
            IncidentDetail::Substitution {
                player_out: 9,
                player_in: 14,
            },
            IncidentDetail::PenaltyAwarded,
            IncidentDetail::Var {
                decision: VarDecision::GoalConfirmed,
                reviews: 1,
            },
            IncidentDetail::Var {
                decision: VarDecision::GoalOverturned,
                reviews: 1,
            },
            IncidentDetail::Var {
                decision: VarDecision::PenaltyAwarded,
                reviews: 2,
            },
            IncidentDetail::Var {
                decision: VarDecision::PenaltyOverturned,
                reviews: 2,
            },
            IncidentDetail::Var {
                decision: VarDecision::RedCard,
                reviews: 3,
            },
        ];
        for (i, detail) in details.into_iter().enumerate() {
            bodies.push(Body::Incident(Incident {
                id: i as u32 + 1,
                version: 1 + (i as u64 % 3),
                side: if i % 2 == 0 { Side::Home } else { Side::Away },
                clock_s: if i == 3 { -30 } else { 60 * i as i32 },
                detail,
                cancelled: i == 1,
            }));
        }
        let markets: [(MarketKind, Vec<Selection>); 9] = [
            (
                MarketKind::MatchOdds,
                vec![Selection::Home, Selection::Draw, Selection::Away],
            ),
            (
                MarketKind::OverUnder { line: Line(10) },
                vec![Selection::Over, Selection::Under],
            ),
            (MarketKind::Btts, vec![Selection::Yes, Selection::No]),
            (
                MarketKind::NextGoal { goal: 2 },
                vec![Selection::Home, Selection::NoGoal, Selection::Away],
            ),
            (
                MarketKind::DoubleChance,
                vec![
                    Selection::HomeOrDraw,
                    Selection::DrawOrAway,
                    Selection::HomeOrAway,
                ],
            ),
            (
                MarketKind::CorrectScore,
                vec![
                    Selection::Score { home: 0, away: 0 },
                    Selection::Score { home: 2, away: 1 },
                    Selection::Score {
                        home: 10,
                        away: 255,
                    },
                    Selection::AnyOther,
                ],
            ),
            (
                MarketKind::AsianHandicap { line: Line(-1) },
                vec![Selection::Home, Selection::Away],
            ),
            (
                MarketKind::AsianHandicap { line: Line(6) },
                vec![Selection::Home, Selection::Away],
            ),
            (
                MarketKind::CornersOverUnder { line: Line(38) },
                vec![Selection::Over, Selection::Under],
            ),
        ];
        let statuses = [
            MarketStatus::Open,
            MarketStatus::Suspended,
            MarketStatus::Closed,
        ];
        for (i, (market, selections)) in markets.iter().enumerate() {
            bodies.push(Body::Market(Market {
                version: i as u64 + 1,
                market: *market,
                status: statuses[i % 3],
                phase: if i % 2 == 0 {
                    Phase::Prematch
                } else {
                    Phase::InPlay
                },
                selections: selections.clone(),
            }));
            for (j, selection) in selections.iter().enumerate() {
                bodies.push(Body::Odds(Odds {
                    version: 7,
                    market: *market,
                    selection: *selection,
                    // Short decimals: serde_json without `float_roundtrip` may misread 17-digit
                    // floats by one ULP (see the report), which is not what this test is about.
                    price: F64((101 + (i * 10 + j) * 37) as f64 / 100.0),
                    modelled: i == 1,
                }));
            }
        }
        bodies.push(Body::Market(Market {
            version: 9,
            market: MarketKind::Btts,
            status: MarketStatus::Open,
            phase: Phase::InPlay,
            selections: vec![],
        }));
        for price in [f64::NAN, f64::INFINITY, 1.0, -2.5] {
            bodies.push(Body::Odds(Odds {
                version: 8,
                market: MarketKind::MatchOdds,
                selection: Selection::Draw,
                price: F64(price),
                modelled: false,
            }));
        }
        bodies.push(Body::Result(MatchResult {
            version: 1,
            half_time: Score { home: 1, away: 0 },
            full_time: Score { home: 2, away: 1 },
            corners: Some(Score { home: 7, away: 3 }),
        }));
        bodies.push(Body::Result(MatchResult {
            version: 2,
            half_time: Score { home: 0, away: 0 },
            full_time: Score { home: 2, away: 2 },
            corners: None,
        }));
        bodies.push(Body::Abandonment(Abandonment {
            version: 1,
            reason: "floodlight failure".into(),
        }));

        let mut items: Vec<Payload> = bodies
            .into_iter()
            .enumerate()
            .map(|(i, b)| rec(i, 42 + (i as u64 % 2), b))
            .collect();
        // A negative event time, and a huge match id.
        items.push(Payload::Decoded(Record {
            ts: -5,
            match_id: u64::MAX,
            body: Body::Abandonment(Abandonment {
                version: u64::MAX,
                reason: String::new(),
            }),
        }));
        let garbage = [
            "not json at all",
            r#"{"ts":1,"match":2,"kind":"weather","version":1}"#,
            r#"{"ts":1700000000000,"match":42,"kind":"odds","#,
            "  {\"ts\": 5 }  ",
            "héllo ⚽ \u{0}",
        ];
        for (i, g) in garbage.into_iter().enumerate() {
            items.insert(i * 13 + 1, Payload::Line(g.to_owned()));
        }
        items
    }

    /// What a JSON reader gives back for written items.
    fn as_lines(items: &[Payload]) -> Vec<Payload> {
        items
            .iter()
            .map(|p| match p {
                Payload::Line(l) => Payload::Line(l.clone()),
                Payload::Decoded(r) => Payload::Line(wire::to_json_line(r)),
            })
            .collect()
    }

    fn write_all(path: &Path, items: &[Payload]) {
        let mut w = FeedWriter::create(path).unwrap();
        for item in items {
            w.write(item).unwrap();
        }
        assert_eq!(w.items(), items.len() as u64);
        w.finish().unwrap();
    }

    fn read_all(path: &Path) -> Vec<Payload> {
        read_feed(path)
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap()
    }

    #[test]
    fn short_names_match_serde() {
        fn check<T: ShortName + Serialize>(v: T) {
            assert_eq!(serde_json::to_value(&v).unwrap(), v.short());
            assert!(T::parse_short(v.short()).is_some());
        }
        Side::BOTH.into_iter().for_each(check);
        [
            MatchStatus::Scheduled,
            MatchStatus::FirstHalf,
            MatchStatus::HalfTime,
            MatchStatus::SecondHalf,
        ]
        .into_iter()
        .chain([
            MatchStatus::Finished,
            MatchStatus::Abandoned,
            MatchStatus::Postponed,
        ])
        .for_each(check);
        [CardKind::Yellow, CardKind::SecondYellow, CardKind::Red]
            .into_iter()
            .for_each(check);
        [
            VarDecision::GoalConfirmed,
            VarDecision::GoalOverturned,
            VarDecision::PenaltyAwarded,
            VarDecision::PenaltyOverturned,
            VarDecision::RedCard,
        ]
        .into_iter()
        .for_each(check);
        [
            MarketStatus::Open,
            MarketStatus::Suspended,
            MarketStatus::Closed,
        ]
        .into_iter()
        .for_each(check);
        [Phase::Prematch, Phase::InPlay].into_iter().for_each(check);
        for item in sample_items() {
            if let Payload::Decoded(Record {
                body: Body::Odds(o),
                ..
            }) = item
            {
                let short = selection_short(o.selection);
                assert_eq!(parse_selection(&short), Some(o.selection));
                if !matches!(o.selection, Selection::Score { .. }) {
                    assert_eq!(serde_json::to_value(o.selection).unwrap(), short);
                }
                let name = market_short(o.market).0;
                let serde_name = serde_json::to_value(o.market).unwrap();
                let serde_name = match &serde_name {
                    serde_json::Value::Object(m) => m.keys().next().unwrap().clone(),
                    v => v.as_str().unwrap().to_owned(),
                };
                assert_eq!(name, serde_name);
            }
        }
    }

    #[test]
    fn round_trip_each_format() {
        let items = sample_items();
        let dir = tempfile::tempdir().unwrap();

        for name in ["feed.jsonl", "feed.jsonl.gz"] {
            let path = dir.path().join(name);
            write_all(&path, &items);
            let back = read_all(&path);
            assert_eq!(back, as_lines(&items), "{name}");
            // The lines parse back into the same records.
            for (orig, line) in items.iter().zip(&back) {
                let (Payload::Decoded(r), Payload::Line(l)) = (orig, line) else {
                    continue;
                };
                assert_eq!(&wire::parse_json_line(l).unwrap(), r);
            }
            assert_eq!(
                feed_len_hint(&path),
                Some(std::fs::metadata(&path).unwrap().len())
            );
            let mut reader = read_feed(&path).unwrap();
            reader.by_ref().for_each(drop);
            assert_eq!(reader.progress(), feed_len_hint(&path).unwrap());
        }

        let path = dir.path().join("sub/dir/feed.parquet");
        write_all(&path, &items);
        assert_eq!(read_all(&path), items);
        assert_eq!(feed_len_hint(&path), Some(items.len() as u64));
        let mut reader = read_feed(&path).unwrap();
        reader.by_ref().for_each(drop);
        assert_eq!(reader.progress(), items.len() as u64);
    }

    #[test]
    fn parquet_round_trip_spans_batches_and_row_groups() {
        let base = sample_items();
        let n = ROW_GROUP_ROWS + 2 * BATCH_ROWS + 17;
        let items: Vec<Payload> = (0..n)
            .map(|i| match &base[i % base.len()] {
                Payload::Decoded(r) => Payload::Decoded(Record {
                    ts: r.ts + i as i64,
                    ..r.clone()
                }),
                line => line.clone(),
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.parquet");
        write_all(&path, &items);
        assert_eq!(read_all(&path), items);
        let file = File::open(&path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(builder.metadata().num_row_groups(), 2);
    }

    #[test]
    fn cross_format_conversion_keeps_items_and_lines() {
        let items = sample_items();
        let dir = tempfile::tempdir().unwrap();
        let jsonl = dir.path().join("a.jsonl");
        let parquet = dir.path().join("b.parquet");
        let gz = dir.path().join("c.jsonl.gz");
        write_all(&jsonl, &items);
        let original_text = std::fs::read_to_string(&jsonl).unwrap();

        // jsonl → read → (decode what parses) → parquet → read
        let from_jsonl: Vec<Payload> = read_all(&jsonl).into_iter().map(decode_if_valid).collect();
        write_all(&parquet, &from_jsonl);
        let from_parquet = read_all(&parquet);
        assert_eq!(from_parquet, from_jsonl);
        // Every record went into typed columns; only the garbage is raw.
        let raw = from_parquet
            .iter()
            .filter(|p| matches!(p, Payload::Line(_)))
            .count();
        assert_eq!(raw, 5);
        // NaN / inf prices and xG survive the JSON text: the typed items are the original ones.
        assert_eq!(from_parquet, items);

        // parquet → gz → read: the same lines as the original file.
        write_all(&gz, &from_parquet);
        let from_gz = read_all(&gz);
        assert_eq!(from_gz, as_lines(&items));
        let texts: Vec<String> = from_gz
            .into_iter()
            .map(|p| match p {
                Payload::Line(l) => l,
                Payload::Decoded(_) => unreachable!("JSON readers yield lines"),
            })
            .collect();
        assert_eq!(texts.join("\n") + "\n", original_text);

        // convert_feed does the same.
        let parquet2 = dir.path().join("d.parquet");
        assert_eq!(convert_feed(&jsonl, &parquet2).unwrap(), items.len() as u64);
        assert_eq!(
            std::fs::read(&parquet2).unwrap(),
            std::fs::read(&parquet).unwrap()
        );
        let jsonl2 = dir.path().join("e.jsonl");
        convert_feed(&parquet2, &jsonl2).unwrap();
        assert_eq!(std::fs::read_to_string(&jsonl2).unwrap(), original_text);
    }

    #[test]
    fn parquet_has_typed_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.parquet");
        let items = sample_items();
        write_all(&path, &items);
        let file = File::open(&path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let schema = builder.schema().clone();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, FEED_COLUMNS);
        let expect = [
            ("ts", DataType::Int64),
            ("match", DataType::UInt64),
            ("kind", DataType::Utf8),
            ("version", DataType::UInt64),
            ("side", DataType::Utf8),
            ("clock_s", DataType::Int32),
            ("market", DataType::Utf8),
            ("line", DataType::Float64),
            ("goal", DataType::UInt8),
            ("selection", DataType::Utf8),
            ("price", DataType::Float64),
            ("id", DataType::UInt32),
            ("player", DataType::UInt32),
            ("own_goal", DataType::Boolean),
            ("xg", DataType::Float64),
            ("share", DataType::UInt8),
            ("kickoff", DataType::Int64),
            ("home_id", DataType::UInt32),
            ("ft_home", DataType::UInt8),
            ("corners_away", DataType::UInt8),
            ("players_json", DataType::Utf8),
            ("selections_json", DataType::Utf8),
            ("raw", DataType::Utf8),
        ];
        for (name, t) in expect {
            let field = schema.field_with_name(name).unwrap();
            assert_eq!(field.data_type(), &t, "{name}");
            assert!(field.is_nullable());
        }
        // The on-disk Parquet schema is typed too (not just the embedded Arrow schema).
        let parquet_schema = builder.parquet_schema();
        let col = |name: &str| {
            parquet_schema
                .columns()
                .iter()
                .find(|c| c.name() == name)
                .unwrap()
                .clone()
        };
        assert_eq!(col("ts").physical_type(), parquet::basic::Type::INT64);
        assert_eq!(col("price").physical_type(), parquet::basic::Type::DOUBLE);
        assert_eq!(
            col("own_goal").physical_type(),
            parquet::basic::Type::BOOLEAN
        );
        assert_eq!(
            col("kind").physical_type(),
            parquet::basic::Type::BYTE_ARRAY
        );

        // Values as a SQL user sees them.
        let rows = crate::io::table::read_table_json(&path).unwrap();
        assert_eq!(rows.len(), items.len());
        let odds = rows
            .iter()
            .find(|r| r["kind"] == "odds" && r["market"] == "over_under")
            .unwrap();
        assert_eq!(odds["line"], 2.5);
        assert_eq!(odds["selection"], "over");
        assert_eq!(odds["raw"], serde_json::Value::Null);
        let score = rows.iter().find(|r| r["selection"] == "2-1").unwrap();
        assert_eq!(score["market"], "correct_score");
        let raw = rows.iter().find(|r| r["raw"] == "not json at all").unwrap();
        assert_eq!(raw["kind"], serde_json::Value::Null);
        assert_eq!(raw["ts"], serde_json::Value::Null);
        let lineup = rows.iter().find(|r| r["kind"] == "lineup").unwrap();
        assert_eq!(lineup["formation"], "4-2-3-1");
        assert!(
            lineup["players_json"]
                .as_str()
                .unwrap()
                .starts_with(r#"[{"id":1,"name":"Čech""#)
        );
    }

    #[test]
    fn same_items_give_same_bytes() {
        let items = sample_items();
        let dir = tempfile::tempdir().unwrap();
        for ext in ["jsonl", "jsonl.gz", "parquet"] {
            let (a, b) = (
                dir.path().join(format!("a.{ext}")),
                dir.path().join(format!("b.{ext}")),
            );
            write_all(&a, &items);
            write_all(&b, &items);
            assert_eq!(
                std::fs::read(&a).unwrap(),
                std::fs::read(&b).unwrap(),
                "{ext}"
            );
        }
    }

    #[test]
    fn unknown_extension_is_a_clear_error() {
        for name in ["feed.csv", "feed.json", "feed.gz", "feed"] {
            let err = FeedFormat::from_path(Path::new(name))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(name) && err.contains(".jsonl.gz") && err.contains(".parquet"),
                "{err}"
            );
            assert!(FeedWriter::create(Path::new(name)).is_err());
            assert!(read_feed(Path::new(name)).is_err());
        }
        assert_eq!(
            FeedFormat::from_path(Path::new("/x/Feed.JSONL.GZ")).unwrap(),
            FeedFormat::JsonlGz
        );
        assert_eq!(feed_len_hint(Path::new("missing.jsonl")), None);
    }

    #[test]
    fn json_reader_tolerates_noise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noisy.jsonl");
        let mut bytes = b"{\"ts\":1}\r\n\n   \n".to_vec();
        bytes.extend_from_slice(b"bad \xff\xfe utf8\n");
        bytes.extend_from_slice(b"last line without newline");
        std::fs::write(&path, &bytes).unwrap();
        let back = read_all(&path);
        assert_eq!(
            back,
            vec![
                Payload::Line("{\"ts\":1}".into()),
                Payload::Line("bad \u{fffd}\u{fffd} utf8".into()),
                Payload::Line("last line without newline".into()),
            ]
        );
        // Embedded line breaks are written as spaces.
        let out = dir.path().join("out.jsonl");
        write_all(&out, &[Payload::Line("a\nb\r\nc".into())]);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "a b  c\n");

        // Concatenated gzip members read as one feed.
        let gz = dir.path().join("multi.jsonl.gz");
        let (p1, p2) = (
            dir.path().join("p1.jsonl.gz"),
            dir.path().join("p2.jsonl.gz"),
        );
        write_all(&p1, &[Payload::Line("one".into())]);
        write_all(&p2, &[Payload::Line("two".into())]);
        let mut cat = std::fs::read(&p1).unwrap();
        cat.extend(std::fs::read(&p2).unwrap());
        std::fs::write(&gz, cat).unwrap();
        assert_eq!(
            read_all(&gz),
            vec![Payload::Line("one".into()), Payload::Line("two".into())]
        );
    }

    #[test]
    fn bad_parquet_rows_become_lines_for_the_dead_letter() {
        use arrow_array::{Float64Array, Int64Array, StringArray, UInt64Array};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.parquet");
        // A foreign file: a subset of the columns, with ts as UInt64 and a large-string kind.
        let schema = Arc::new(Schema::new(vec![
            Field::new("ts", DataType::Int64, true),
            Field::new("match", DataType::UInt64, true),
            Field::new("kind", DataType::LargeUtf8, true),
            Field::new("version", DataType::UInt64, true),
            Field::new("market", DataType::Utf8, true),
            Field::new("line", DataType::Float64, true),
            Field::new("selection", DataType::Utf8, true),
            Field::new("price", DataType::Float64, true),
            Field::new("reason", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![
                    Some(5),
                    Some(6),
                    Some(7),
                    Some(8),
                    None,
                ])),
                Arc::new(UInt64Array::from(vec![
                    Some(1),
                    Some(1),
                    Some(1),
                    Some(1),
                    Some(1),
                ])),
                Arc::new(arrow_array::LargeStringArray::from(vec![
                    Some("weather"),
                    Some("odds"),
                    Some("odds"),
                    Some("abandonment"),
                    Some("abandonment"),
                ])),
                Arc::new(UInt64Array::from(vec![Some(1); 5])),
                Arc::new(StringArray::from(vec![
                    None,
                    Some("over_under"),
                    Some("over_under"),
                    None,
                    None,
                ])),
                Arc::new(Float64Array::from(vec![
                    None,
                    Some(2.3),
                    Some(2.5),
                    None,
                    None,
                ])),
                Arc::new(StringArray::from(vec![
                    None,
                    Some("over"),
                    Some("over"),
                    None,
                    None,
                ])),
                Arc::new(Float64Array::from(vec![
                    None,
                    Some(1.9),
                    Some(f64::NAN),
                    None,
                    None,
                ])),
                Arc::new(StringArray::from(vec![
                    None,
                    None,
                    None,
                    Some("storm"),
                    Some("storm"),
                ])),
            ],
        )
        .unwrap();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();

        let back = read_all(&path);
        assert_eq!(back.len(), 5);
        let Payload::Line(weather) = &back[0] else {
            panic!("{:?}", back[0])
        };
        assert_eq!(
            weather,
            r#"{"ts":5,"match":1,"kind":"weather","version":1}"#
        );
        assert_eq!(
            wire::parse_json_line(weather).unwrap_err().reason,
            RejectReason::UnknownKind
        );
        assert_eq!(wire::peek_ts(weather), Some(5));
        let Payload::Line(bad_line) = &back[1] else {
            panic!("{:?}", back[1])
        };
        assert_eq!(
            wire::parse_json_line(bad_line).unwrap_err().reason,
            RejectReason::Malformed
        );
        let Payload::Decoded(nan_odds) = &back[2] else {
            panic!("{:?}", back[2])
        };
        let Body::Odds(o) = &nan_odds.body else {
            panic!()
        };
        assert!(o.price.0.is_nan() && o.market == MarketKind::OverUnder { line: Line(10) });
        assert_eq!(
            back[3],
            Payload::Decoded(Record {
                ts: 8,
                match_id: 1,
                body: Body::Abandonment(Abandonment {
                    version: 1,
                    reason: "storm".into()
                })
            })
        );
        let Payload::Line(no_ts) = &back[4] else {
            panic!("{:?}", back[4])
        };
        assert_eq!(
            wire::parse_json_line(no_ts).unwrap_err().reason,
            RejectReason::Malformed
        );
    }

    #[test]
    fn reader_is_send() {
        fn send<T: Send>() {}
        send::<FeedReader>();
        send::<FeedWriter>();
    }
}
