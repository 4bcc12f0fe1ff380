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
//! - **A file that ends early.** Any error after opening — a gzip stream cut short or corrupt, a
//!   Parquet row group that cannot be decoded, a Parquet footer that cannot be read — ends the
//!   reading: the last item is an `Err` holding an [`InputCut`] (items read, line and text offset
//!   for JSON lines, row group and its file offset for Parquet, the error), after every item read
//!   before. The incomplete line before a JSON read error is dropped (counted in
//!   `partial_line_bytes`). A plain `.jsonl` cut mid-line reads without error: its last line is
//!   an item (a malformed record for the dead letters).
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
//! Files are written with snappy compression, record batches of
//! [`BATCH_ROWS`](crate::io::table::BATCH_ROWS) rows and row groups of
//! [`ROW_GROUP_ROWS`](crate::io::table::ROW_GROUP_ROWS) rows. When reading, integer columns of
//! any width, any Arrow string type (plain, large, view or dictionary) and missing columns (as
//! nulls) are accepted, so files rewritten by pandas or DuckDB still read.
//!
//! [`convert_feed`] rewrites a feed in another format; towards Parquet it decodes the JSON lines
//! that parse, so that they become typed rows.
//!
//! This module holds the entry points ([`FeedFormat`], [`FeedWriter`], [`read_feed`]); the codecs
//! are its submodules: `jsonl` (JSON lines and gzip), `parquet` (the typed rows above) and
//! `names` (the short names of the enums in those columns).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use oddsflow_dataflows::ingest::Payload;
use oddsflow_dataflows::model::Record;
use oddsflow_dataflows::wire;

use crate::io::table::create_file;

mod jsonl;
mod names;
mod parquet;
#[cfg(test)]
mod tests;

pub(crate) use names::{market_short, selection_short};

// ---------------------------------------------------------------------------------------------
// Formats

/// A feed file format, told by the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FeedFormat {
    /// `.jsonl`: one JSON line per item.
    Jsonl,
    /// `.jsonl.gz`: gzip of the same.
    JsonlGz,
    /// `.parquet`: one typed row per item (see the module docs).
    Parquet,
}

impl FeedFormat {
    /// The format of `path` by its extension (case-insensitive).
    pub(crate) fn from_path(path: &Path) -> Result<Self> {
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
    pub(crate) fn extension(self) -> &'static str {
        match self {
            FeedFormat::Jsonl => "jsonl",
            FeedFormat::JsonlGz => "jsonl.gz",
            FeedFormat::Parquet => "parquet",
        }
    }

    /// The unit of [`feed_len_hint`] and [`FeedReader::progress`]: `"bytes"` (of the file, as
    /// stored: compressed for gzip) for JSON formats, `"rows"` for Parquet.
    #[expect(dead_code, reason = "unused so far")]
    pub(crate) fn progress_unit(self) -> &'static str {
        match self {
            FeedFormat::Jsonl | FeedFormat::JsonlGz => "bytes",
            FeedFormat::Parquet => "rows",
        }
    }
}

/// The size of a feed for a progress bar, in [`FeedFormat::progress_unit`]s: the file size for
/// JSON formats, the row count (from the footer) for Parquet. `None` if it cannot be had cheaply.
#[cfg_attr(not(test), expect(dead_code, reason = "only the unit tests use it"))]
pub(crate) fn feed_len_hint(path: &Path) -> Option<u64> {
    match FeedFormat::from_path(path).ok()? {
        FeedFormat::Jsonl | FeedFormat::JsonlGz => std::fs::metadata(path).ok().map(|m| m.len()),
        FeedFormat::Parquet => parquet::row_count(path),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Writes feed items to a file; call [`FeedWriter::finish`] at the end (a Parquet file is not
/// valid before, and a dropped gzip stream may lose its end).
pub struct FeedWriter {
    path: PathBuf,
    output: Output,
    items: u64,
}

/// Where a [`FeedWriter`]'s items go, by format.
enum Output {
    Jsonl(BufWriter<File>),
    JsonlGz(GzEncoder<BufWriter<File>>),
    Parquet(parquet::Encoder),
}

impl FeedWriter {
    /// Creates (truncates) `path`, and its parent directories, in the format its name tells.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let format = FeedFormat::from_path(path)?;
        let out = create_file(path)?;
        let output = match format {
            FeedFormat::Jsonl => Output::Jsonl(out),
            FeedFormat::JsonlGz => Output::JsonlGz(jsonl::gzip(out)),
            FeedFormat::Parquet => Output::Parquet(parquet::Encoder::create(out, path)?),
        };
        Ok(FeedWriter {
            path: path.to_owned(),
            output,
            items: 0,
        })
    }

    /// The file's format.
    pub(crate) fn format(&self) -> FeedFormat {
        match self.output {
            Output::Jsonl(_) => FeedFormat::Jsonl,
            Output::JsonlGz(_) => FeedFormat::JsonlGz,
            Output::Parquet(_) => FeedFormat::Parquet,
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
        match &mut self.output {
            Output::Jsonl(out) => jsonl::write_line(out, &wire::to_json_line(record)),
            Output::JsonlGz(out) => jsonl::write_line(out, &wire::to_json_line(record)),
            Output::Parquet(rows) => {
                rows.push_record(record);
                Ok(())
            }
        }
        .with_context(|| format!("writing {}", self.path.display()))?;
        self.after_item()
    }

    /// Appends a raw (possibly malformed) line (as `write(&Payload::Line(..))`).
    pub fn write_line(&mut self, line: &str) -> Result<()> {
        match &mut self.output {
            Output::Jsonl(out) => jsonl::write_line(out, line),
            Output::JsonlGz(out) => jsonl::write_line(out, line),
            Output::Parquet(rows) => {
                rows.push_line(line);
                Ok(())
            }
        }
        .with_context(|| format!("writing {}", self.path.display()))?;
        self.after_item()
    }

    fn after_item(&mut self) -> Result<()> {
        self.items += 1;
        if let Output::Parquet(rows) = &mut self.output
            && rows.is_full()
        {
            rows.flush_rows(&self.path)?;
        }
        Ok(())
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<()> {
        let ctx = || format!("finishing {}", self.path.display());
        match self.output {
            Output::Jsonl(mut out) => out.flush().with_context(ctx)?,
            Output::JsonlGz(gz) => gz.finish().with_context(ctx)?.flush().with_context(ctx)?,
            Output::Parquet(rows) => rows.finish(&self.path)?,
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Where and why a feed file could not be read to its end (cut short, or corrupt): the
/// [`FeedReader`]'s last item is an `Err` holding this (downcast it from the `anyhow::Error`),
/// after every item read before. A run records it in its summary
/// ([`crate::runtime::outputs::Summary::truncated`]) and ends with the items read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputCut {
    /// The file (not written to the summary).
    #[serde(skip)]
    pub path: PathBuf,
    /// The format: `jsonl`, `jsonl.gz` or `parquet`.
    pub format: String,
    /// Items read (and yielded) before the point where reading failed.
    pub items_read: u64,
    /// JSON lines: the 1-based number of the line that could not be read (blank lines counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Where reading stopped, in bytes: JSON lines, the offset in the text (decompressed, for
    /// gzip) of the first byte not read as a whole line; Parquet, the offset in the file where the
    /// row group that could not be read starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_offset: Option<u64>,
    /// JSON lines: bytes of the incomplete line decompressed before the error, dropped (its end
    /// is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_line_bytes: Option<u64>,
    /// Parquet: the 0-based row group that could not be read (absent when the footer itself could
    /// not be read: then no row group is known and nothing was read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_group: Option<u64>,
    /// The error, with its causes.
    pub error: String,
}

impl std::fmt::Display for InputCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ended early (cut short or corrupt) after {} items",
            self.path.display(),
            self.items_read
        )?;
        let mut at = Vec::new();
        if let Some(l) = self.line {
            at.push(format!("line {l}"));
        }
        if let Some(g) = self.row_group {
            at.push(format!("row group {g}"));
        }
        if let Some(b) = self.byte_offset {
            let of = if self.format == "jsonl.gz" {
                " of the decompressed text"
            } else {
                ""
            };
            at.push(format!("byte {b}{of}"));
        }
        if !at.is_empty() {
            write!(f, " (at {})", at.join(", "))?;
        }
        write!(f, ": {}", self.error)
    }
}

impl std::error::Error for InputCut {}

/// The items of a feed file, streamed (see the module docs). When the file cannot be read to its
/// end, the last item is an `Err` holding an [`InputCut`]; after it the reader yields nothing
/// more.
pub struct FeedReader {
    path: PathBuf,
    format: FeedFormat,
    source: Source,
    progress: Arc<AtomicU64>,
    items: u64,
    done: bool,
}

/// Where a [`FeedReader`]'s items come from, by format.
enum Source {
    Json(jsonl::Lines),
    Parquet(parquet::Decoder),
    /// A file that could be opened but not read at all (a Parquet file without its footer).
    Unreadable(Option<anyhow::Error>),
}

/// Opens a feed file for reading, in the format its name tells. A file that cannot be opened is
/// an error; a Parquet file whose footer cannot be read opens, and its first item is the
/// [`InputCut`].
pub fn read_feed(path: impl AsRef<Path>) -> Result<FeedReader> {
    let path = path.as_ref();
    let format = FeedFormat::from_path(path)?;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let progress = Arc::new(AtomicU64::new(0));
    let source = match format {
        FeedFormat::Jsonl => Source::Json(jsonl::Lines::open(file, false, progress.clone())),
        FeedFormat::JsonlGz => Source::Json(jsonl::Lines::open(file, true, progress.clone())),
        FeedFormat::Parquet => match parquet::Decoder::open(file, path) {
            Ok(rows) => Source::Parquet(rows),
            Err(e) => Source::Unreadable(Some(e)),
        },
    };
    Ok(FeedReader {
        path: path.to_owned(),
        format,
        source,
        progress,
        items: 0,
        done: false,
    })
}

impl FeedReader {
    /// The file's format.
    #[expect(dead_code, reason = "unused so far")]
    pub(crate) fn format(&self) -> FeedFormat {
        self.format
    }

    /// The file read.
    #[expect(dead_code, reason = "unused so far")]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// How far the reader is, in the unit of [`feed_len_hint`] (bytes of the file read so far for
    /// JSON formats, a little ahead of the items because of buffering; rows yielded for Parquet).
    #[cfg_attr(not(test), expect(dead_code, reason = "only the unit tests use it"))]
    pub(crate) fn progress(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }

    /// Where and why reading stopped, after `error`.
    fn cut(&self, error: anyhow::Error) -> InputCut {
        let mut cut = InputCut {
            path: self.path.clone(),
            format: self.format.extension().to_string(),
            items_read: self.items,
            line: None,
            byte_offset: None,
            partial_line_bytes: None,
            row_group: None,
            error: format!("{error:#}"),
        };
        match &self.source {
            Source::Json(lines) => {
                cut.line = Some(lines.lines_read() + 1);
                cut.byte_offset = Some(lines.text_bytes());
                cut.partial_line_bytes = Some(lines.partial_bytes());
            }
            Source::Parquet(rows) => {
                if let Some((group, start)) = rows.row_group_of(self.items) {
                    cut.row_group = Some(group);
                    cut.byte_offset = Some(start);
                }
            }
            Source::Unreadable(_) => {}
        }
        cut
    }
}

impl Iterator for FeedReader {
    type Item = Result<Payload>;

    fn next(&mut self) -> Option<Result<Payload>> {
        if self.done {
            return None;
        }
        let next = match &mut self.source {
            Source::Json(lines) => lines.next().map(|line| Ok(Payload::Line(line?))),
            Source::Parquet(rows) => rows.next().inspect(|item| {
                if item.is_ok() {
                    self.progress.fetch_add(1, Ordering::Relaxed);
                }
            }),
            Source::Unreadable(e) => e.take().map(Err),
        };
        match next {
            None => {
                self.done = true;
                None
            }
            Some(Err(e)) => {
                self.done = true;
                Some(Err(anyhow::Error::new(self.cut(e))))
            }
            Some(Ok(item)) => {
                self.items += 1;
                Some(Ok(item))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conversion

/// The item as a typed store keeps it best: a JSON line that parses becomes
/// `Payload::Decoded`; anything else is unchanged.
pub(crate) fn decode_if_valid(item: Payload) -> Payload {
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
#[cfg_attr(not(test), expect(dead_code, reason = "only the unit tests use it"))]
pub(crate) fn convert_feed(src: &Path, dst: &Path) -> Result<u64> {
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
