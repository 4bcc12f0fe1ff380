//! The Parquet codec of feed items: one typed row per item, a record batch at a time (the
//! schema is in the [parent module](super)'s docs).
//!
//! **In (writing):** records and raw lines, pushed one by one into an [`Encoder`], which
//! buffers [`BATCH_ROWS`] rows and writes them as a record batch. **Out (reading):** a
//! [`Decoder`] yields a `Payload` per row of each record batch read: `Payload::Line(raw)` for a
//! row with `raw` set, `Payload::Decoded(record)` for a row that is a valid record, else
//! `Payload::Line` of the row's non-null columns as a JSON object (`ts` first) for the dataflow
//! to dead-letter.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder};
use arrow_array::types::{Int32Type, Int64Type, UInt8Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde::Serialize;

use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::*;

use super::names::{
    ShortName, market_short, parse, parse_market, parse_selection, selection_short,
};
use crate::io::table::{
    BATCH_ROWS, bool_values, float_values, int_values, parquet_props, string_values,
};

// ---------------------------------------------------------------------------------------------
// Writing and reading files

/// The rows of a Parquet feed being written: buffered, and written a record batch at a time.
pub(super) struct Encoder {
    writer: Box<ArrowWriter<BufWriter<File>>>,
    schema: SchemaRef,
    rows: Vec<FlatRow>,
}

impl Encoder {
    /// Starts the Parquet file on `out` (the file at `path`, named in errors).
    pub(super) fn create(out: BufWriter<File>, path: &Path) -> Result<Self> {
        let schema = feed_schema();
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(parquet_props()))
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(Encoder {
            writer: Box::new(writer),
            schema,
            rows: Vec::with_capacity(BATCH_ROWS),
        })
    }

    /// Buffers a record's row.
    pub(super) fn push_record(&mut self, record: &Record) {
        self.rows.push(FlatRow::of_record(record));
    }

    /// Buffers a raw line's row (only `raw` set).
    pub(super) fn push_line(&mut self, line: &str) {
        self.rows.push(FlatRow::of_line(line));
    }

    /// Whether a record batch's worth of rows is buffered.
    pub(super) fn is_full(&self) -> bool {
        self.rows.len() >= BATCH_ROWS
    }

    /// Writes the buffered rows as one record batch (nothing when none are buffered).
    pub(super) fn flush_rows(&mut self, path: &Path) -> Result<()> {
        let ctx = || format!("writing {}", path.display());
        if !self.rows.is_empty() {
            let batch = RecordBatch::try_new(self.schema.clone(), FlatRow::to_arrays(&self.rows))
                .with_context(ctx)?;
            self.rows.clear();
            self.writer.write(&batch).with_context(ctx)?;
        }
        Ok(())
    }

    /// Writes the rows still buffered and the footer, and flushes the file.
    pub(super) fn finish(mut self, path: &Path) -> Result<()> {
        self.flush_rows(path)?;
        let ctx = || format!("finishing {}", path.display());
        (*self.writer)
            .into_inner()
            .with_context(ctx)?
            .flush()
            .with_context(ctx)?;
        Ok(())
    }
}

/// The items of a Parquet feed, decoded a record batch at a time.
pub(super) struct Decoder {
    batches: ParquetRecordBatchReader,
    pending: std::vec::IntoIter<Payload>,
    /// The rows of each row group, and where in the file each starts (from the footer).
    row_groups: Vec<(u64, u64)>,
}

impl Decoder {
    /// Reads `file` (the file at `path`, named in errors) in record batches of [`BATCH_ROWS`].
    pub(super) fn open(file: File, path: &Path) -> Result<Self> {
        let ctx = || format!("opening {}", path.display());
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).with_context(ctx)?;
        let row_groups = builder
            .metadata()
            .row_groups()
            .iter()
            .map(|g| {
                let start = (0..g.num_columns())
                    .map(|c| g.column(c).byte_range().0)
                    .min()
                    .unwrap_or(0);
                (u64::try_from(g.num_rows()).unwrap_or(0), start)
            })
            .collect();
        let batches = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .with_context(ctx)?;
        Ok(Decoder {
            batches,
            pending: Vec::new().into_iter(),
            row_groups,
        })
    }

    /// The row group that holds row `row` (0-based) and where it starts in the file; `None`
    /// past the last row.
    pub(super) fn row_group_of(&self, row: u64) -> Option<(u64, u64)> {
        let mut end = 0;
        for (i, (rows, start)) in self.row_groups.iter().enumerate() {
            end += rows;
            if row < end {
                return Some((i as u64, *start));
            }
        }
        None
    }
}

impl Iterator for Decoder {
    /// An item, or an I/O error or a column of an unusable type.
    type Item = Result<Payload>;

    fn next(&mut self) -> Option<Result<Payload>> {
        loop {
            if let Some(item) = self.pending.next() {
                return Some(Ok(item));
            }
            match self.batches.next()? {
                Err(e) => return Some(Err(e.into())),
                Ok(batch) => match FlatRow::from_batch(&batch) {
                    Ok(rows) => {
                        self.pending = rows
                            .into_iter()
                            .map(FlatRow::into_payload)
                            .collect::<Vec<_>>()
                            .into_iter()
                    }
                    Err(e) => return Some(Err(e)),
                },
            }
        }
    }
}

/// The row count of a Parquet file, from its footer; `None` if it cannot be read.
pub(super) fn row_count(path: &Path) -> Option<u64> {
    let file = File::open(path).ok()?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
    u64::try_from(builder.metadata().file_metadata().num_rows()).ok()
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
        #[cfg_attr(not(test), expect(dead_code, reason = "only the unit tests use it"))]
        pub(super) const FEED_COLUMNS: &[&str] = &[$($col),*];

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
                    market: parse_market(f.market.as_deref(), f.line, f.goal)?,
                    status: parse(&f.status)?,
                    phase: parse(&f.phase)?,
                    selections,
                })
            }
            "odds" => Body::Odds(Odds {
                version,
                market: parse_market(f.market.as_deref(), f.line, f.goal)?,
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
