//! The flattening serializer of change-table rows.
//!
//! **In:** any `T: Serialize` (a row's data). **Out:** its `(column name, cell)` pairs, in the
//! order met: structs, tuples and maps flattened into dotted names (`stats.goals`, `0.match`,
//! map keys sorted), scalars as typed cells, sequences and enum variants with data as a cell of
//! their JSON text (see the [parent module](super)'s column schema). Values serialize as for a
//! compact format (not human-readable).

use std::fmt;

use serde::Serialize;
use serde::ser;
use serde_json::Value;

use super::Cell;

/// Why a value could not be flattened.
#[derive(Debug)]
pub(super) struct FlatError(String);

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

/// Flattens a whole row (at the top level: no name prefix) into `out`'s `(column name, cell)`
/// pairs.
pub(super) fn flatten<T: Serialize + ?Sized>(
    row: &T,
    out: &mut Vec<(String, Cell)>,
) -> Result<(), FlatError> {
    row.serialize(Flat {
        path: String::new(),
        out,
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
