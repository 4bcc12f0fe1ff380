//! Parquet change tables: the replay's output collections, written as `(data, time, diff)` rows.
//!
//! **In:** `push(&data, time, diff)` for any `D: Serialize` (a differential update: `data` changed
//! by `diff` at event time `time`), in the order the caller wants them in the file (callers sort).
//! **Out:** one Parquet file (snappy, row groups of [`ROW_GROUP_ROWS`] rows, deterministic bytes:
//! same rows ⇒ same file) that DuckDB, pandas or polars open directly.
//!
//! ## Column schema
//!
//! The data columns are derived from `D`'s serde form, then come `time` (UInt64, not null) and
//! `diff` (Int64, not null), always last:
//!
//! | serde form of a value at path `p` | column(s) |
//! |---|---|
//! | struct, tuple, tuple struct, map | flattened: one column per field, named `p.field` (tuple elements `p.0`, `p.1`…; map entries `p.<key>`, keys sorted); at the top level the names have no prefix, so a `(Key, Stats)` tuple gives `0.match`, `1.goals`… |
//! | integer | Int64, or UInt64 when a value exceeds `i64::MAX` (Float64 if the column also has negatives) |
//! | float | Float64 (NaN and infinities kept as such) |
//! | bool | Boolean |
//! | string, char, unit enum variant (`"home"`) | Utf8 |
//! | sequence (`Vec`…), enum variant with data, bytes | Utf8 holding the value's JSON text (`{"over_under":{"line":2.5}}`) |
//! | `None`, unit | null |
//!
//! The column set and types are inferred from all rows: a column is Float64 when it holds both
//! integers and floats, and Utf8 (each value's JSON text) when it mixes strings or booleans with
//! numbers. A column that is null in every row is Utf8, and is dropped when it is only the `None`
//! of an `Option<struct>` whose fields are columns of their own. Columns appear in the order first
//! met (struct declaration order for the first row that has them). A scalar `D` is a single column
//! named `data`; a data column named `time` or `diff` is renamed `data.time` / `data.diff`. Values
//! are serialized as for a compact (non human-readable) format, so a model `F64` NaN stays a
//! float NaN. An empty table is a valid file with just `time` and `diff`.
//!
//! Rows are buffered until [`ChangeTable::finish`] (a few million rows are fine).
//!
//! [`read_table_json`] reads any such file back as flat JSON objects (column name → value; NaN and
//! infinities as the strings `"NaN"`, `"inf"`, `"-inf"`); [`write_json_lines`] is a plain JSON-lines
//! helper.
//!
//! This module writes change tables; its submodules are `flatten` (the serde serializer that
//! turns a value into named cells), `read` (columns and tables read back, also the feed codec's
//! column readers) and `json_lines` (the JSON-lines helpers).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::Serialize;

mod flatten;
mod json_lines;
mod read;
#[cfg(test)]
mod tests;

use flatten::flatten;
pub(crate) use json_lines::read_json_lines;
pub use json_lines::write_json_lines;
use read::float_json;
pub use read::read_table_json;
pub(crate) use read::{bool_values, float_values, int_values, string_values};

/// Rows per Parquet row group (feeds and change tables).
pub(crate) const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Rows per Arrow record batch when writing and reading.
pub(crate) const BATCH_ROWS: usize = 8192;

/// The writer properties of every Parquet file we write: snappy, fixed row-group size, and only
/// fixed metadata (the library's own `created_by` string, no timestamps), so that the same rows
/// give the same bytes.
pub(crate) fn parquet_props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_write_batch_size(BATCH_ROWS)
        .build()
}

/// Creates `path` (and its parent directories) for writing.
pub(crate) fn create_file(path: &Path) -> Result<BufWriter<File>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
    }
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 16, file))
}

// ---------------------------------------------------------------------------------------------
// Writing

/// One flattened value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Cell {
    Null,
    /// Any integer that fits `i64`.
    I64(i64),
    /// An integer above `i64::MAX`.
    U64(u64),
    F64(f64),
    Bool(bool),
    Str(String),
}

impl Cell {
    /// The value as text, for a column that mixes kinds.
    fn text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::I64(v) => Some(v.to_string()),
            Cell::U64(v) => Some(v.to_string()),
            Cell::F64(v) => Some(float_json(*v).to_string()),
            Cell::Bool(v) => Some(v.to_string()),
            Cell::Str(s) => Some(s.clone()),
        }
    }
}

/// What kinds of values a column has seen.
#[derive(Clone, Debug, Default)]
struct ColumnStats {
    name: String,
    int: bool,
    negative: bool,
    big: bool,
    float: bool,
    boolean: bool,
    string: bool,
}

impl ColumnStats {
    fn see(&mut self, cell: &Cell) {
        match cell {
            Cell::Null => {}
            Cell::I64(v) => {
                self.int = true;
                self.negative |= *v < 0;
            }
            Cell::U64(_) => {
                self.int = true;
                self.big = true;
            }
            Cell::F64(_) => self.float = true,
            Cell::Bool(_) => self.boolean = true,
            Cell::Str(_) => self.string = true,
        }
    }

    fn is_all_null(&self) -> bool {
        !(self.int || self.float || self.boolean || self.string)
    }

    fn data_type(&self) -> DataType {
        let numeric = self.int || self.float;
        match (numeric, self.boolean, self.string) {
            (false, true, false) => DataType::Boolean,
            (true, false, false) if self.float || (self.big && self.negative) => DataType::Float64,
            (true, false, false) if self.big => DataType::UInt64,
            (true, false, false) => DataType::Int64,
            _ => DataType::Utf8,
        }
    }
}

struct Row {
    cells: Vec<(u32, Cell)>,
    time: u64,
    diff: i64,
}

/// A change table being written; see the module docs for its columns.
pub(crate) struct ChangeTable<D: Serialize> {
    path: PathBuf,
    out: BufWriter<File>,
    columns: Vec<ColumnStats>,
    by_name: HashMap<String, u32>,
    rows: Vec<Row>,
    scratch: Vec<(String, Cell)>,
    renames: Vec<(String, String)>,
    _data: PhantomData<fn(&D)>,
}

impl<D: Serialize> ChangeTable<D> {
    /// Creates (truncates) the file now, so that a bad path fails early.
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let out = create_file(path)?;
        Ok(ChangeTable {
            path: path.to_owned(),
            out,
            columns: Vec::new(),
            by_name: HashMap::new(),
            rows: Vec::new(),
            scratch: Vec::new(),
            renames: Vec::new(),
            _data: PhantomData,
        })
    }

    /// Renames columns: each rule `(from, to)` renames the column `from` to `to`, and the columns
    /// under `from.` to `to.…` (or strips the prefix when `to` is empty); the first matching
    /// rule wins. `[("0.0", "match"), ("0.1", "side"), ("1", "")]` turns a `((match, side), stats)`
    /// row into columns `match, side, goals, …`.
    pub(crate) fn with_names(mut self, rules: &[(&str, &str)]) -> Self {
        self.renames = rules
            .iter()
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect();
        self
    }

    fn renamed(&self, name: String) -> String {
        for (from, to) in &self.renames {
            if name == *from {
                return to.clone();
            }
            if let Some(rest) = name
                .strip_prefix(from.as_str())
                .and_then(|r| r.strip_prefix('.'))
            {
                return if to.is_empty() {
                    rest.to_owned()
                } else {
                    format!("{to}.{rest}")
                };
            }
        }
        name
    }

    #[expect(dead_code, reason = "unused so far")]
    /// Rows pushed so far.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no rows were pushed.
    #[expect(dead_code, reason = "unused so far")]
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends the row `(data, time, diff)`.
    pub(crate) fn push(&mut self, data: &D, time: u64, diff: i64) -> Result<()> {
        self.scratch.clear();
        flatten(data, &mut self.scratch)
            .map_err(|e| anyhow!("flattening a row for {}: {e}", self.path.display()))?;
        let mut cells = Vec::with_capacity(self.scratch.len());
        let scratch = std::mem::take(&mut self.scratch);
        for (name, cell) in scratch {
            let name = self.renamed(name);
            let name = match name.as_str() {
                "" => "data".to_owned(),
                "time" | "diff" => format!("data.{name}"),
                _ => name,
            };
            let idx = match self.by_name.get(&name) {
                Some(&i) => i,
                None => {
                    let i = u32::try_from(self.columns.len()).context("too many columns")?;
                    self.columns.push(ColumnStats {
                        name: name.clone(),
                        ..Default::default()
                    });
                    self.by_name.insert(name, i);
                    i
                }
            };
            // A name met twice in one row (e.g. a map key "a.b" beside a field a.b): first wins.
            if cells.iter().any(|(c, _)| *c == idx) {
                continue;
            }
            self.columns[idx as usize].see(&cell);
            if cell != Cell::Null {
                cells.push((idx, cell));
            }
        }
        self.rows.push(Row { cells, time, diff });
        Ok(())
    }

    /// Writes the file and returns the number of rows.
    pub(crate) fn finish(self) -> Result<u64> {
        let ChangeTable {
            path,
            out,
            columns,
            rows,
            ..
        } = self;
        let ctx = || format!("writing change table {}", path.display());

        // Output columns: drop all-null columns that only stand for the `None` of an
        // `Option<struct>` (a "placeholder" whose fields are columns of their own), and put those
        // fields where the placeholder was met.
        let is_placeholder = |p: &ColumnStats| {
            let prefix = format!("{}.", p.name);
            p.is_all_null() && columns.iter().any(|o| o.name.starts_with(&prefix))
        };
        let placeholders: Vec<usize> = (0..columns.len())
            .filter(|&i| is_placeholder(&columns[i]))
            .collect();
        let mut keep: Vec<(usize, usize)> = (0..columns.len())
            .filter(|i| !placeholders.contains(i))
            .map(|i| {
                let anchor = placeholders
                    .iter()
                    .copied()
                    .filter(|&p| {
                        p < i
                            && columns[i]
                                .name
                                .starts_with(&format!("{}.", columns[p].name))
                    })
                    .min()
                    .unwrap_or(i);
                (anchor, i)
            })
            .collect();
        keep.sort_unstable();
        let keep: Vec<usize> = keep.into_iter().map(|(_, i)| i).collect();
        let mut fields: Vec<Field> = keep
            .iter()
            .map(|&i| Field::new(&columns[i].name, columns[i].data_type(), true))
            .collect();
        fields.push(Field::new("time", DataType::UInt64, false));
        fields.push(Field::new("diff", DataType::Int64, false));
        let schema: SchemaRef = Arc::new(Schema::new(fields));

        let mut writer =
            ArrowWriter::try_new(out, schema.clone(), Some(parquet_props())).with_context(ctx)?;
        let mut dense: Vec<Option<&Cell>> = vec![None; columns.len()];
        for chunk in rows.chunks(BATCH_ROWS) {
            let mut builders: Vec<ColumnBuilder> = keep
                .iter()
                .map(|&i| ColumnBuilder::new(&columns[i].data_type(), chunk.len()))
                .collect();
            let mut times = UInt64Builder::with_capacity(chunk.len());
            let mut diffs = Int64Builder::with_capacity(chunk.len());
            for row in chunk {
                dense.fill(None);
                for (c, cell) in &row.cells {
                    dense[*c as usize] = Some(cell);
                }
                for (b, &i) in builders.iter_mut().zip(&keep) {
                    b.append(dense[i]);
                }
                times.append_value(row.time);
                diffs.append_value(row.diff);
            }
            let mut arrays: Vec<ArrayRef> =
                builders.into_iter().map(ColumnBuilder::finish).collect();
            arrays.push(Arc::new(times.finish()));
            arrays.push(Arc::new(diffs.finish()));
            let batch = RecordBatch::try_new(schema.clone(), arrays).with_context(ctx)?;
            writer.write(&batch).with_context(ctx)?;
        }
        let mut out = writer.into_inner().with_context(ctx)?;
        out.flush().with_context(ctx)?;
        Ok(rows.len() as u64)
    }
}

enum ColumnBuilder {
    I64(Int64Builder),
    U64(UInt64Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Str(StringBuilder),
}

impl ColumnBuilder {
    fn new(t: &DataType, rows: usize) -> Self {
        match t {
            DataType::Int64 => ColumnBuilder::I64(Int64Builder::with_capacity(rows)),
            DataType::UInt64 => ColumnBuilder::U64(UInt64Builder::with_capacity(rows)),
            DataType::Float64 => ColumnBuilder::F64(Float64Builder::with_capacity(rows)),
            DataType::Boolean => ColumnBuilder::Bool(BooleanBuilder::with_capacity(rows)),
            _ => ColumnBuilder::Str(StringBuilder::with_capacity(rows, rows * 8)),
        }
    }

    /// Appends a cell; the column's type was inferred from all its cells, so a cell of another
    /// kind cannot occur (it would be written as null).
    fn append(&mut self, cell: Option<&Cell>) {
        match self {
            ColumnBuilder::I64(b) => b.append_option(match cell {
                Some(Cell::I64(v)) => Some(*v),
                _ => None,
            }),
            ColumnBuilder::U64(b) => b.append_option(match cell {
                Some(Cell::I64(v)) => u64::try_from(*v).ok(),
                Some(Cell::U64(v)) => Some(*v),
                _ => None,
            }),
            ColumnBuilder::F64(b) => b.append_option(match cell {
                Some(Cell::I64(v)) => Some(*v as f64),
                Some(Cell::U64(v)) => Some(*v as f64),
                Some(Cell::F64(v)) => Some(*v),
                _ => None,
            }),
            ColumnBuilder::Bool(b) => b.append_option(match cell {
                Some(Cell::Bool(v)) => Some(*v),
                _ => None,
            }),
            ColumnBuilder::Str(b) => match cell {
                Some(Cell::Str(s)) => b.append_value(s),
                Some(c) => b.append_option(c.text()),
                None => b.append_null(),
            },
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            ColumnBuilder::I64(mut b) => Arc::new(b.finish()),
            ColumnBuilder::U64(mut b) => Arc::new(b.finish()),
            ColumnBuilder::F64(mut b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(mut b) => Arc::new(b.finish()),
            ColumnBuilder::Str(mut b) => Arc::new(b.finish()),
        }
    }
}
