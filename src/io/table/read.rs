//! Reading Parquet columns and tables back.
//!
//! **In:** an Arrow column of any integer width, float, boolean or string type (plain, large,
//! view or dictionary-encoded), or a whole flat Parquet file. **Out:** the column's values as
//! `i128`, `f64`, `bool` or `String` options (the feed codec reads its columns with these), or
//! the file's rows as JSON objects (column name → value; NaN and infinities as the strings
//! `"NaN"`, `"inf"`, `"-inf"`).

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use super::BATCH_ROWS;

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
pub(super) fn float_json(v: f64) -> Value {
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
fn column_json(a: &dyn Array) -> Option<Vec<Value>> {
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
