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

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::Serialize;
use serde::ser;
use serde_json::Value;

/// Rows per Parquet row group (feeds and change tables).
pub const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Rows per Arrow record batch when writing and reading.
pub const BATCH_ROWS: usize = 8192;

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
enum Cell {
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
pub struct ChangeTable<D: Serialize> {
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
    pub fn create(path: &Path) -> Result<Self> {
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
    pub fn with_names(mut self, rules: &[(&str, &str)]) -> Self {
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

    /// Rows pushed so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends the row `(data, time, diff)`.
    pub fn push(&mut self, data: &D, time: u64, diff: i64) -> Result<()> {
        self.scratch.clear();
        data.serialize(Flat {
            path: String::new(),
            out: &mut self.scratch,
        })
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
    pub fn finish(self) -> Result<u64> {
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

// ---------------------------------------------------------------------------------------------
// The flattening serializer

#[derive(Debug)]
struct FlatError(String);

impl fmt::Display for FlatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for FlatError {}
impl ser::Error for FlatError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        FlatError(msg.to_string())
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn json<T: Serialize + ?Sized>(v: &T) -> Result<Value, FlatError> {
    serde_json::to_value(v).map_err(|e| FlatError(e.to_string()))
}

/// A map key as a column-name segment.
fn key_name<T: Serialize + ?Sized>(key: &T) -> Result<String, FlatError> {
    Ok(match json(key)? {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Serializes one value at `path` into `(column name, cell)` pairs.
struct Flat<'a> {
    path: String,
    out: &'a mut Vec<(String, Cell)>,
}

impl Flat<'_> {
    fn cell(self, cell: Cell) -> Result<(), FlatError> {
        self.out.push((self.path, cell));
        Ok(())
    }
}

/// Collects the elements of a struct, tuple or map into dotted columns.
struct FlatCompound<'a> {
    path: String,
    out: &'a mut Vec<(String, Cell)>,
    index: usize,
    /// Map entries, sorted by key at the end so that a `HashMap` gives stable columns.
    entries: Vec<(String, Vec<(String, Cell)>)>,
    key: Option<String>,
}

impl<'a> FlatCompound<'a> {
    fn new(path: String, out: &'a mut Vec<(String, Cell)>) -> Self {
        FlatCompound {
            path,
            out,
            index: 0,
            entries: Vec::new(),
            key: None,
        }
    }
    fn element<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), FlatError> {
        let path = join(&self.path, name);
        value.serialize(Flat {
            path,
            out: self.out,
        })
    }
    fn next_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), FlatError> {
        let name = self.index.to_string();
        self.index += 1;
        self.element(&name, value)
    }
}

impl ser::SerializeTuple for FlatCompound<'_> {
    type Ok = ();
    type Error = FlatError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), FlatError> {
        self.next_element(value)
    }
    fn end(self) -> Result<(), FlatError> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for FlatCompound<'_> {
    type Ok = ();
    type Error = FlatError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), FlatError> {
        self.next_element(value)
    }
    fn end(self) -> Result<(), FlatError> {
        Ok(())
    }
}

impl ser::SerializeStruct for FlatCompound<'_> {
    type Ok = ();
    type Error = FlatError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), FlatError> {
        self.element(key, value)
    }
    fn end(self) -> Result<(), FlatError> {
        Ok(())
    }
}

impl ser::SerializeMap for FlatCompound<'_> {
    type Ok = ();
    type Error = FlatError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), FlatError> {
        self.key = Some(key_name(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), FlatError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| FlatError("map value without a key".into()))?;
        let mut cells = Vec::new();
        value.serialize(Flat {
            path: join(&self.path, &key),
            out: &mut cells,
        })?;
        self.entries.push((key, cells));
        Ok(())
    }
    fn end(mut self) -> Result<(), FlatError> {
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, cells) in self.entries {
            self.out.extend(cells);
        }
        Ok(())
    }
}

/// Collects a sequence or an enum variant with data as JSON text.
struct JsonText<'a> {
    path: String,
    out: &'a mut Vec<(String, Cell)>,
    variant: Option<&'static str>,
    items: Vec<Value>,
    fields: serde_json::Map<String, Value>,
    key: Option<String>,
}

impl<'a> JsonText<'a> {
    fn new(path: String, out: &'a mut Vec<(String, Cell)>, variant: Option<&'static str>) -> Self {
        JsonText {
            path,
            out,
            variant,
            items: Vec::new(),
            fields: serde_json::Map::new(),
            key: None,
        }
    }
    fn finish(self, value: Value) -> Result<(), FlatError> {
        let value = match self.variant {
            Some(v) => {
                let mut m = serde_json::Map::new();
                m.insert(v.to_owned(), value);
                Value::Object(m)
            }
            None => value,
        };
        self.out.push((self.path, Cell::Str(value.to_string())));
        Ok(())
    }
}

impl ser::SerializeSeq for JsonText<'_> {
    type Ok = ();
    type Error = FlatError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), FlatError> {
        self.items.push(json(value)?);
        Ok(())
    }
    fn end(mut self) -> Result<(), FlatError> {
        let items = std::mem::take(&mut self.items);
        self.finish(Value::Array(items))
    }
}

impl ser::SerializeTupleVariant for JsonText<'_> {
    type Ok = ();
    type Error = FlatError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), FlatError> {
        self.items.push(json(value)?);
        Ok(())
    }
    fn end(mut self) -> Result<(), FlatError> {
        let items = std::mem::take(&mut self.items);
        self.finish(Value::Array(items))
    }
}

impl ser::SerializeStructVariant for JsonText<'_> {
    type Ok = ();
    type Error = FlatError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), FlatError> {
        self.fields.insert(key.to_owned(), json(value)?);
        Ok(())
    }
    fn end(mut self) -> Result<(), FlatError> {
        let fields = std::mem::take(&mut self.fields);
        self.finish(Value::Object(fields))
    }
}

// Only used for maps nested inside JSON text (never reached: sequences go through serde_json).
impl ser::SerializeMap for JsonText<'_> {
    type Ok = ();
    type Error = FlatError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), FlatError> {
        self.key = Some(key_name(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), FlatError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| FlatError("map value without a key".into()))?;
        self.fields.insert(key, json(value)?);
        Ok(())
    }
    fn end(mut self) -> Result<(), FlatError> {
        let fields = std::mem::take(&mut self.fields);
        self.finish(Value::Object(fields))
    }
}

impl<'a> ser::Serializer for Flat<'a> {
    type Ok = ();
    type Error = FlatError;
    type SerializeSeq = JsonText<'a>;
    type SerializeTuple = FlatCompound<'a>;
    type SerializeTupleStruct = FlatCompound<'a>;
    type SerializeTupleVariant = JsonText<'a>;
    type SerializeMap = FlatCompound<'a>;
    type SerializeStruct = FlatCompound<'a>;
    type SerializeStructVariant = JsonText<'a>;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, v: bool) -> Result<(), FlatError> {
        self.cell(Cell::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<(), FlatError> {
        self.cell(Cell::I64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<(), FlatError> {
        self.cell(Cell::I64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<(), FlatError> {
        self.cell(Cell::I64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<(), FlatError> {
        self.cell(Cell::I64(v))
    }
    fn serialize_i128(self, v: i128) -> Result<(), FlatError> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(x), _) => self.cell(Cell::I64(x)),
            (_, Ok(x)) => self.cell(Cell::U64(x)),
            _ => self.cell(Cell::Str(v.to_string())),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), FlatError> {
        self.cell(Cell::I64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<(), FlatError> {
        self.cell(Cell::I64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<(), FlatError> {
        self.cell(Cell::I64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<(), FlatError> {
        match i64::try_from(v) {
            Ok(x) => self.cell(Cell::I64(x)),
            Err(_) => self.cell(Cell::U64(v)),
        }
    }
    fn serialize_u128(self, v: u128) -> Result<(), FlatError> {
        match u64::try_from(v) {
            Ok(x) => self.serialize_u64(x),
            Err(_) => self.cell(Cell::Str(v.to_string())),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), FlatError> {
        self.cell(Cell::F64(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<(), FlatError> {
        self.cell(Cell::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<(), FlatError> {
        self.cell(Cell::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<(), FlatError> {
        self.cell(Cell::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), FlatError> {
        let text = json(v)?.to_string();
        self.cell(Cell::Str(text))
    }
    fn serialize_none(self) -> Result<(), FlatError> {
        self.cell(Cell::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), FlatError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), FlatError> {
        self.cell(Cell::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), FlatError> {
        self.cell(Cell::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), FlatError> {
        self.cell(Cell::Str(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), FlatError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), FlatError> {
        let inner = json(value)?;
        JsonText::new(self.path, self.out, Some(variant)).finish(inner)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<JsonText<'a>, FlatError> {
        Ok(JsonText::new(self.path, self.out, None))
    }
    fn serialize_tuple(self, _len: usize) -> Result<FlatCompound<'a>, FlatError> {
        Ok(FlatCompound::new(self.path, self.out))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<FlatCompound<'a>, FlatError> {
        Ok(FlatCompound::new(self.path, self.out))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<JsonText<'a>, FlatError> {
        Ok(JsonText::new(self.path, self.out, Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<FlatCompound<'a>, FlatError> {
        Ok(FlatCompound::new(self.path, self.out))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<FlatCompound<'a>, FlatError> {
        Ok(FlatCompound::new(self.path, self.out))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<JsonText<'a>, FlatError> {
        Ok(JsonText::new(self.path, self.out, Some(variant)))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading columns (shared with `feed`)

/// Resolves a dictionary-encoded column into plain values with `inner`; other columns go to
/// `inner` directly.
type ColumnReader<'a, T> = &'a dyn Fn(&dyn Array) -> Option<Vec<Option<T>>>;

fn undictionary<T: Clone>(a: &dyn Array, inner: ColumnReader<'_, T>) -> Option<Vec<Option<T>>> {
    let Some(d) = a.as_any_dictionary_opt() else {
        return inner(a);
    };
    let values = inner(d.values().as_ref())?;
    if values.is_empty() {
        return Some(vec![None; a.len()]);
    }
    let keys = d.normalized_keys();
    let key_array = d.keys();
    Some(
        (0..a.len())
            .map(|i| {
                if key_array.is_null(i) {
                    None
                } else {
                    values[keys[i]].clone()
                }
            })
            .collect(),
    )
}

/// An integer column of any width (or an all-null column) as `i128` values.
pub(crate) fn int_values(a: &dyn Array) -> Option<Vec<Option<i128>>> {
    undictionary(a, &|a| {
        macro_rules! prim {
            ($t:ty) => {
                a.as_primitive::<$t>()
                    .iter()
                    .map(|v| v.map(i128::from))
                    .collect()
            };
        }
        Some(match a.data_type() {
            DataType::Int8 => prim!(Int8Type),
            DataType::Int16 => prim!(Int16Type),
            DataType::Int32 => prim!(Int32Type),
            DataType::Int64 => prim!(Int64Type),
            DataType::UInt8 => prim!(UInt8Type),
            DataType::UInt16 => prim!(UInt16Type),
            DataType::UInt32 => prim!(UInt32Type),
            DataType::UInt64 => prim!(UInt64Type),
            DataType::Null => vec![None; a.len()],
            _ => return None,
        })
    })
}

/// A float column (or an integer or all-null column) as `f64` values.
pub(crate) fn float_values(a: &dyn Array) -> Option<Vec<Option<f64>>> {
    undictionary(a, &|a| match a.data_type() {
        DataType::Float64 => Some(a.as_primitive::<Float64Type>().iter().collect()),
        DataType::Float32 => Some(
            a.as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(f64::from))
                .collect(),
        ),
        _ => int_values(a).map(|v| v.into_iter().map(|x| x.map(|x| x as f64)).collect()),
    })
}

/// A boolean (or all-null) column.
pub(crate) fn bool_values(a: &dyn Array) -> Option<Vec<Option<bool>>> {
    undictionary(a, &|a| match a.data_type() {
        DataType::Boolean => Some(a.as_boolean().iter().collect()),
        DataType::Null => Some(vec![None; a.len()]),
        _ => None,
    })
}

/// A string column of any Arrow string type, plain or dictionary-encoded (or an all-null column).
pub(crate) fn string_values(a: &dyn Array) -> Option<Vec<Option<String>>> {
    undictionary(a, &|a| match a.data_type() {
        DataType::Utf8 => Some(
            a.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_owned))
                .collect(),
        ),
        DataType::LargeUtf8 => Some(
            a.as_string::<i64>()
                .iter()
                .map(|v| v.map(str::to_owned))
                .collect(),
        ),
        DataType::Utf8View => Some(
            a.as_string_view()
                .iter()
                .map(|v| v.map(str::to_owned))
                .collect(),
        ),
        DataType::Null => Some(vec![None; a.len()]),
        _ => None,
    })
}

/// A float as JSON: NaN and infinities as strings (as the model's `F64` writes them).
pub(crate) fn float_json(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(v.to_string()))
}

fn int_json(v: i128) -> Value {
    if let Ok(x) = i64::try_from(v) {
        Value::from(x)
    } else if let Ok(x) = u64::try_from(v) {
        Value::from(x)
    } else {
        Value::String(v.to_string())
    }
}

/// Any supported column as JSON values (integers, floats, booleans, strings, nulls).
pub(crate) fn column_json(a: &dyn Array) -> Option<Vec<Value>> {
    let value_type = match a.data_type() {
        DataType::Dictionary(_, v) => v.as_ref().clone(),
        t => t.clone(),
    };
    let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
    Some(match value_type {
        DataType::Null => vec![Value::Null; a.len()],
        DataType::Boolean => bool_values(a)?
            .into_iter()
            .map(|v| opt(v.map(Value::Bool)))
            .collect(),
        DataType::Float32 | DataType::Float64 => float_values(a)?
            .into_iter()
            .map(|v| opt(v.map(float_json)))
            .collect(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => string_values(a)?
            .into_iter()
            .map(|v| opt(v.map(Value::String)))
            .collect(),
        t if t.is_integer() => int_values(a)?
            .into_iter()
            .map(|v| opt(v.map(int_json)))
            .collect(),
        _ => return None,
    })
}

/// Reads a Parquet change table (or any flat Parquet file of numbers, booleans and strings) as
/// one JSON object per row: column name → value.
pub fn read_table_json(path: &Path) -> Result<Vec<Value>> {
    let ctx = || format!("reading {}", path.display());
    let file = File::open(path).with_context(ctx)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(ctx)?
        .with_batch_size(BATCH_ROWS)
        .build()
        .with_context(ctx)?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.with_context(ctx)?;
        let schema = batch.schema();
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            let values = column_json(array.as_ref()).ok_or_else(|| {
                anyhow!(
                    "column `{}` has unsupported type {}",
                    field.name(),
                    field.data_type()
                )
            });
            columns.push((field.name().clone(), values.with_context(ctx)?));
        }
        for i in 0..batch.num_rows() {
            let mut obj = serde_json::Map::new();
            for (name, values) in &columns {
                obj.insert(name.clone(), values[i].clone());
            }
            rows.push(Value::Object(obj));
        }
    }
    Ok(rows)
}

/// Reads JSON lines (gzip-compressed when `path` ends in `.gz`); a bad line is an error naming it.
pub fn read_json_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    use std::io::BufRead;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn BufRead> = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut rows = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        rows.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{} line {}", path.display(), i + 1))?,
        );
    }
    Ok(rows)
}

/// Writes `rows` as JSON lines (gzip-compressed when `path` ends in `.gz`), creating parent
/// directories.
pub fn write_json_lines<T: Serialize>(
    path: &Path,
    rows: impl IntoIterator<Item = T>,
) -> Result<()> {
    let ctx = || format!("writing {}", path.display());
    fn write_rows<T: Serialize, W: Write>(
        out: &mut W,
        rows: impl IntoIterator<Item = T>,
    ) -> Result<()> {
        for row in rows {
            serde_json::to_writer(&mut *out, &row)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(())
    }
    let out = create_file(path)?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        // Buffer in front of the encoder: serde writes in tiny pieces, and deflating each one
        // on its own is several times slower.
        let gz = flate2::GzBuilder::new()
            .operating_system(255)
            .write(out, flate2::Compression::default());
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, gz);
        write_rows(&mut buffered, rows).with_context(ctx)?;
        let gz = buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(ctx)?;
        gz.finish().with_context(ctx)?.flush().with_context(ctx)?;
    } else {
        let mut out = out;
        write_rows(&mut out, rows).with_context(ctx)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use oddsflow_dataflows::model::{F64, Line, MarketKind, Side};
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Stats {
        goals: u32,
        xg: f64,
        last_scorer: Option<String>,
    }

    #[derive(Serialize)]
    struct Key {
        #[serde(rename = "match")]
        match_id: u64,
        side: Side,
    }

    #[derive(Serialize)]
    struct Row {
        stats: Stats,
        market: MarketKind,
        price: F64,
        pair: (u8, i32),
        tags: Vec<String>,
        extra: Option<Stats>,
        big: u64,
        mixed: serde_json::Value,
        counts: BTreeMap<String, u32>,
        time: u64,
    }

    fn rows() -> Vec<((Key, Row), u64, i64)> {
        let mk = |m: u64,
                  side,
                  goals,
                  xg: f64,
                  scorer: Option<&str>,
                  market,
                  extra: Option<Stats>,
                  big,
                  mixed| {
            (
                (
                    Key { match_id: m, side },
                    Row {
                        stats: Stats {
                            goals,
                            xg,
                            last_scorer: scorer.map(str::to_owned),
                        },
                        market,
                        price: F64(if m == 2 { f64::NAN } else { 1.5 + m as f64 }),
                        pair: (m as u8, -(m as i32)),
                        tags: vec![format!("t{m}")],
                        extra,
                        big,
                        mixed,
                        counts: BTreeMap::from([("b".to_owned(), m as u32), ("a".to_owned(), 1)]),
                        time: 99,
                    },
                ),
                1000 + m,
                if m.is_multiple_of(2) { -1 } else { 1 },
            )
        };
        vec![
            mk(
                1,
                Side::Home,
                2,
                1.25,
                Some("Kane"),
                MarketKind::MatchOdds,
                None,
                5,
                serde_json::json!(1),
            ),
            mk(
                2,
                Side::Away,
                0,
                0.5,
                None,
                MarketKind::OverUnder { line: Line(10) },
                Some(Stats {
                    goals: 1,
                    xg: 0.1,
                    last_scorer: None,
                }),
                u64::MAX,
                serde_json::json!("x"),
            ),
            mk(
                3,
                Side::Home,
                1,
                2.0,
                Some("Son"),
                MarketKind::Btts,
                None,
                7,
                serde_json::json!(true),
            ),
        ]
    }

    fn write(path: &Path) -> u64 {
        let mut t = ChangeTable::create(path).unwrap();
        for (d, time, diff) in rows() {
            t.push(&d, time, diff).unwrap();
        }
        t.finish().unwrap()
    }

    #[test]
    fn change_table_round_trips_with_flattened_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/table.parquet");
        assert_eq!(write(&path), 3);

        let file = File::open(&path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let schema = builder.schema().clone();
        let cols: Vec<(String, DataType)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        let expect = [
            ("0.match", DataType::Int64),
            ("0.side", DataType::Utf8),
            ("1.stats.goals", DataType::Int64),
            ("1.stats.xg", DataType::Float64),
            ("1.stats.last_scorer", DataType::Utf8),
            ("1.market", DataType::Utf8),
            ("1.price", DataType::Float64),
            ("1.pair.0", DataType::Int64),
            ("1.pair.1", DataType::Int64),
            ("1.tags", DataType::Utf8),
            ("1.extra.goals", DataType::Int64),
            ("1.extra.xg", DataType::Float64),
            ("1.extra.last_scorer", DataType::Utf8),
            ("1.big", DataType::UInt64),
            ("1.mixed", DataType::Utf8),
            ("1.counts.a", DataType::Int64),
            ("1.counts.b", DataType::Int64),
            ("1.time", DataType::Int64),
            ("time", DataType::UInt64),
            ("diff", DataType::Int64),
        ];
        let expect: Vec<(String, DataType)> = expect
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect();
        assert_eq!(cols, expect);

        let back = read_table_json(&path).unwrap();
        assert_eq!(back.len(), 3);
        let r0 = &back[0];
        assert_eq!(r0["0.match"], 1);
        assert_eq!(r0["0.side"], "home");
        assert_eq!(r0["1.stats.goals"], 2);
        assert_eq!(r0["1.stats.xg"], 1.25);
        assert_eq!(r0["1.stats.last_scorer"], "Kane");
        assert_eq!(r0["1.market"], "match_odds");
        assert_eq!(r0["1.pair.1"], -1);
        assert_eq!(r0["1.tags"], r#"["t1"]"#);
        assert_eq!(r0["1.extra.goals"], Value::Null);
        assert_eq!(r0["1.mixed"], "1");
        assert_eq!(r0["1.counts.b"], 1);
        assert_eq!(r0["time"], 1001);
        assert_eq!(r0["diff"], 1);
        let r1 = &back[1];
        assert_eq!(r1["1.stats.last_scorer"], Value::Null);
        assert_eq!(r1["1.market"], r#"{"over_under":{"line":2.5}}"#);
        assert_eq!(r1["1.price"], "NaN");
        assert_eq!(r1["1.big"], u64::MAX);
        assert_eq!(r1["1.extra.goals"], 1);
        assert_eq!(r1["1.mixed"], "x");
        assert_eq!(r1["diff"], -1);
        assert_eq!(back[2]["1.mixed"], "true");
    }

    #[test]
    fn scalar_and_clashing_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.parquet");
        let mut t = ChangeTable::<(u64, String)>::create(&path).unwrap();
        t.push(&(7, "a".into()), 1, 1).unwrap();
        t.finish().unwrap();
        let back = read_table_json(&path).unwrap();
        assert_eq!(
            back,
            vec![serde_json::json!({"0": 7, "1": "a", "time": 1, "diff": 1})]
        );

        let path = dir.path().join("x.parquet");
        let mut t = ChangeTable::<i64>::create(&path).unwrap();
        t.push(&-3, 4, 2).unwrap();
        t.finish().unwrap();
        assert_eq!(
            read_table_json(&path).unwrap(),
            vec![serde_json::json!({"data": -3, "time": 4, "diff": 2})]
        );

        #[derive(Serialize)]
        struct Clash {
            time: u32,
            diff: Option<u32>,
        }
        let path = dir.path().join("c.parquet");
        let mut t = ChangeTable::<Clash>::create(&path).unwrap();
        t.push(
            &Clash {
                time: 5,
                diff: None,
            },
            6,
            1,
        )
        .unwrap();
        t.finish().unwrap();
        assert_eq!(
            read_table_json(&path).unwrap(),
            vec![serde_json::json!({"data.time": 5, "data.diff": null, "time": 6, "diff": 1})]
        );
    }

    #[test]
    fn empty_table_is_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.parquet");
        let t = ChangeTable::<(u64, Side)>::create(&path).unwrap();
        assert_eq!(t.finish().unwrap(), 0);
        let file = File::open(&path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let names: Vec<&str> = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["time", "diff"]);
        assert!(read_table_json(&path).unwrap().is_empty());
    }

    #[test]
    fn same_rows_give_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        write(&a);
        write(&b);
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    }

    #[test]
    fn many_rows_span_batches_and_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.parquet");
        let mut t = ChangeTable::<(u64, Option<f64>)>::create(&path).unwrap();
        let n = ROW_GROUP_ROWS as u64 + 3 * BATCH_ROWS as u64 + 5;
        for i in 0..n {
            t.push(&(i, (i % 3 == 0).then_some(i as f64 / 2.0)), i, 1)
                .unwrap();
        }
        assert_eq!(t.finish().unwrap(), n);
        let back = read_table_json(&path).unwrap();
        assert_eq!(back.len() as u64, n);
        assert_eq!(back[9]["1"], 4.5);
        assert_eq!(back[10]["1"], Value::Null);
        assert_eq!(back[(n - 1) as usize]["time"], n - 1);
    }

    #[test]
    fn json_lines_helper_writes_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["rows.jsonl", "rows.jsonl.gz"] {
            let path = dir.path().join(name);
            write_json_lines(
                &path,
                [serde_json::json!({"a": 1}), serde_json::json!({"a": 2})],
            )
            .unwrap();
            let bytes = std::fs::read(&path).unwrap();
            let text = if name.ends_with(".gz") {
                let mut s = String::new();
                std::io::Read::read_to_string(
                    &mut flate2::read::GzDecoder::new(&bytes[..]),
                    &mut s,
                )
                .unwrap();
                s
            } else {
                String::from_utf8(bytes).unwrap()
            };
            assert_eq!(text, "{\"a\":1}\n{\"a\":2}\n");
        }
    }

    #[test]
    fn key_columns_can_be_named_and_value_prefixes_stripped() {
        #[derive(Serialize)]
        struct Stats {
            goals: u32,
            xg: f64,
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("named.parquet");
        let mut t = ChangeTable::create(&path).unwrap().with_names(&[
            ("0.0", "match"),
            ("0.1", "side"),
            ("1", ""),
        ]);
        t.push(&((7u64, "home"), Stats { goals: 2, xg: 1.5 }), 10, 1)
            .unwrap();
        t.finish().unwrap();
        let rows = read_table_json(&path).unwrap();
        let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 6);
        for k in ["match", "side", "goals", "xg", "time", "diff"] {
            assert!(rows[0].get(k).is_some(), "{k} in {keys:?}");
        }
        assert_eq!(rows[0]["match"], 7);
    }
}
