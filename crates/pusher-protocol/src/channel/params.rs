//! Channel-name parameters into typed values (one value, a tuple, a struct, or unit) and back,
//! and the check that a type can take a pattern's parameters.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

use super::pattern::Pattern;
use crate::names::ChannelName;

/// The captures of a match: parameter names and values, in pattern order.
type Captures<'a> = [(&'a str, &'a str)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamErrorKind {
    Value,
    Shape,
}

/// Why channel-name parameters did not convert: a value that does not fit its type (the
/// client's value, such as `room.abc` for a number), or a type that cannot fit the pattern (the
/// app's mistake, such as a tuple of 3 for 2 parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    kind: ParamErrorKind,
    message: String,
}

impl ParamError {
    pub(super) fn shape(message: String) -> Self {
        ParamError {
            kind: ParamErrorKind::Shape,
            message,
        }
    }

    fn value(message: String) -> Self {
        ParamError {
            kind: ParamErrorKind::Value,
            message,
        }
    }

    /// Whether the type cannot fit the pattern (the app's mistake), rather than a value that
    /// does not fit its type.
    pub fn is_shape(&self) -> bool {
        self.kind == ParamErrorKind::Shape
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

/// Errors a `Deserialize` implementation raises about the client's value (a number that does
/// not parse, an unknown enum variant, a string too long for a fixed-size type) are the
/// client's: a 403. Only a missing or unknown struct field says the handler's type does not
/// fit the pattern (and the registration check catches those first).
impl de::Error for ParamError {
    fn custom<D: fmt::Display>(msg: D) -> Self {
        ParamError::value(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        ParamError::shape(format!("the pattern has no parameter `{field}`"))
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        ParamError::shape(format!("the handler has no field for parameter `{field}`"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        ParamError::shape(format!("parameter `{field}` appears twice"))
    }
}

/// At most 40 characters of a client's value, for log lines.
fn short(value: &str) -> String {
    value.chars().take(40).collect()
}

/// Deserializes the captures of a match into `P`.
pub(super) fn deserialize<P: DeserializeOwned>(captures: &Captures<'_>) -> Result<P, ParamError> {
    P::deserialize(ParamsDeserializer(captures))
}

struct ParamsDeserializer<'a, 'b>(&'b Captures<'a>);

impl ParamsDeserializer<'_, '_> {
    fn one(&self) -> Result<&str, ParamError> {
        match self.0 {
            [(_, value)] => Ok(value),
            _ => Err(ParamError::shape(format!(
                "the handler takes one parameter, the pattern has {}",
                self.0.len()
            ))),
        }
    }
}

macro_rules! single_value {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            ValueDeserializer(self.one()?).$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ParamsDeserializer<'_, '_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_map(de::value::MapDeserializer::new(
            self.0.iter().map(|&(k, v)| (k, ValueDeserializer(v))),
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_seq(de::value::SeqDeserializer::new(
            self.0.iter().map(|&(_, v)| ValueDeserializer(v)),
        ))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        if len != self.0.len() {
            return Err(ParamError::shape(format!(
                "the handler takes a tuple of {len}, the pattern has {} parameters",
                self.0.len()
            )));
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        if !self.0.is_empty() {
            return Err(ParamError::shape(format!(
                "the handler takes `()`, the pattern has {} parameters",
                self.0.len()
            )));
        }
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    single_value! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_option deserialize_identifier
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        ValueDeserializer(self.one()?).deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }
}

/// One parameter value: a string that numbers and booleans are parsed from, canonically.
#[derive(Clone, Copy)]
struct ValueDeserializer<'a>(&'a str);

impl<'de> IntoDeserializer<'de, ParamError> for ValueDeserializer<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! parse_value {
    ($($method:ident => $visit:ident: $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            // Canonical text only: the value must read back as written (no `007`, `+7`, `1e2`).
            match self.0.parse::<$ty>() {
                Ok(v) if v.to_string() == self.0 => visitor.$visit(v),
                _ => Err(ParamError::value(format!(
                    "`{}` is not a canonical {}",
                    short(self.0),
                    stringify!($ty)
                ))),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_str(self.0)
    }

    parse_value! {
        deserialize_bool => visit_bool: bool, deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16, deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64, deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32, deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128, deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64, deserialize_char => visit_char: char
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_enum(de::value::StrDeserializer::<ParamError>::new(self.0))
    }

    serde::forward_to_deserialize_any! {
        str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The shape a parameter type asks the deserializer for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// Anything: `deserialize_any`, maps, sequences (`serde_json::Value`, `HashMap`, `Vec`).
    Any,
    Unit,
    One,
    Tuple(usize),
    Struct(&'static [&'static str]),
}

/// Records the first shape asked for, then stops the deserialization.
struct Probe<'a>(&'a Cell<Option<Shape>>);

impl Probe<'_> {
    fn record<T>(&self, shape: Shape) -> Result<T, ParamError> {
        self.0.set(Some(shape));
        Err(ParamError::shape(String::from("probe")))
    }
}

macro_rules! probe_one {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
            self.record(Shape::One)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Any)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Any)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Any)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Unit)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, ParamError> {
        self.record(Shape::Unit)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Tuple(len))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        _: V,
    ) -> Result<V::Value, ParamError> {
        self.record(Shape::Tuple(len))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ParamError> {
        self.record(Shape::Struct(fields))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ParamError> {
        self.record(Shape::One)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Any)
    }

    probe_one! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_identifier
    }
}

/// Whether `P` can receive `pattern`'s parameters; the reason when it cannot.
pub(super) fn check_shape<P: DeserializeOwned>(pattern: &Pattern) -> Result<(), ParamError> {
    shape_of::<P>(pattern).map_err(ParamError::shape)
}

fn shape_of<P: DeserializeOwned>(pattern: &Pattern) -> Result<(), String> {
    let seen = Cell::new(None);
    let _ = P::deserialize(Probe(&seen));
    let params: Vec<&str> = pattern.params().collect();
    let count = params.len();
    match seen.into_inner().unwrap_or(Shape::Any) {
        Shape::Any => Ok(()),
        Shape::Unit if count == 0 => Ok(()),
        Shape::Unit => Err(format!(
            "the handler takes `()`, the pattern has {count} parameters ({})",
            params.join(", ")
        )),
        Shape::One if count == 1 => Ok(()),
        Shape::One => Err(format!(
            "the handler takes one value, the pattern has {count} parameters{}",
            if count == 0 {
                String::from(" (take `()`)")
            } else {
                format!(" ({}; take a tuple or a struct)", params.join(", "))
            }
        )),
        Shape::Tuple(len) if len == count => Ok(()),
        Shape::Tuple(len) => Err(format!(
            "the handler takes a tuple of {len}, the pattern has {count} parameters ({})",
            params.join(", ")
        )),
        Shape::Struct(fields) => match fields.iter().find(|f| !params.contains(f)) {
            None => Ok(()),
            Some(missing) => Err(format!(
                "the handler's field `{missing}` is not a parameter of the pattern ({})",
                params.join(", ")
            )),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Typed values into parameters: what `Pattern::format` writes.

/// The parameter values `params` serializes to, in `pattern`'s order, each checked to be a
/// valid parameter (non-empty channel-name characters, no `.`).
pub(super) fn serialize<P: Serialize + ?Sized>(
    params: &P,
    pattern: &Pattern,
) -> Result<Vec<String>, ParamError> {
    let names: Vec<&str> = pattern.params().collect();
    let values = match params.serialize(ParamsSerializer)? {
        Collected::Unit => Vec::new(),
        Collected::Seq(values) => values,
        Collected::Struct(fields) => {
            let mut ordered = Vec::with_capacity(names.len());
            for name in &names {
                let value = fields
                    .iter()
                    .find(|(field, _)| field == name)
                    .map(|(_, value)| value.clone())
                    .ok_or_else(|| ParamError::shape(format!("no field for parameter `{name}`")))?;
                ordered.push(value);
            }
            if let Some((extra, _)) = fields.iter().find(|(f, _)| !names.contains(f)) {
                return Err(ParamError::shape(format!(
                    "the field `{extra}` is not a parameter of the pattern"
                )));
            }
            ordered
        }
    };
    if values.len() != names.len() {
        return Err(ParamError::shape(format!(
            "{} values for the pattern's {} parameters",
            values.len(),
            names.len()
        )));
    }
    for value in &values {
        if value.is_empty()
            || value.contains('.')
            || !value.bytes().all(ChannelName::is_allowed_byte)
        {
            return Err(ParamError::value(format!(
                "`{}` cannot be a channel-name parameter (non-empty, A-Z a-z 0-9 _ - = @ , ;, no `.`)",
                short(value)
            )));
        }
    }
    Ok(values)
}

impl ser::Error for ParamError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ParamError::value(msg.to_string())
    }
}

/// What the parameters serialized to.
enum Collected {
    Unit,
    Seq(Vec<String>),
    Struct(Vec<(&'static str, String)>),
}

struct ParamsSerializer;

/// Every shape but unit, tuples, structs and single values is refused.
fn unsupported<T>(what: &str) -> Result<T, ParamError> {
    Err(ParamError::shape(format!(
        "parameters cannot be {what}: use a struct with named fields, a tuple, one value or `()`"
    )))
}

macro_rules! one_value {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Result<Collected, ParamError> {
            Ok(Collected::Seq(vec![v.to_string()]))
        }
    )*};
}

impl ser::Serializer for ParamsSerializer {
    type Ok = Collected;
    type Error = ParamError;
    type SerializeSeq = ser::Impossible<Collected, ParamError>;
    type SerializeTuple = TupleCollector;
    type SerializeTupleStruct = TupleCollector;
    type SerializeTupleVariant = ser::Impossible<Collected, ParamError>;
    type SerializeMap = ser::Impossible<Collected, ParamError>;
    type SerializeStruct = StructCollector;
    type SerializeStructVariant = ser::Impossible<Collected, ParamError>;

    one_value! {
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<Collected, ParamError> {
        unsupported("bytes")
    }

    fn serialize_none(self) -> Result<Collected, ParamError> {
        Err(ParamError::value(String::from(
            "a parameter cannot be `None`",
        )))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Collected, ParamError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Collected, ParamError> {
        Ok(Collected::Unit)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<Collected, ParamError> {
        Ok(Collected::Unit)
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Collected, ParamError> {
        Ok(Collected::Seq(vec![variant.to_owned()]))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Collected, ParamError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Collected, ParamError> {
        unsupported("an enum variant with data")
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ParamError> {
        unsupported("a sequence")
    }

    fn serialize_tuple(self, _: usize) -> Result<TupleCollector, ParamError> {
        Ok(TupleCollector(Vec::new()))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<TupleCollector, ParamError> {
        Ok(TupleCollector(Vec::new()))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ParamError> {
        unsupported("an enum variant with data")
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ParamError> {
        unsupported("a map")
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<StructCollector, ParamError> {
        Ok(StructCollector(Vec::new()))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ParamError> {
        unsupported("an enum variant with data")
    }
}

/// One parameter value: its text.
fn value_of<T: Serialize + ?Sized>(value: &T) -> Result<String, ParamError> {
    match value.serialize(ParamsSerializer)? {
        Collected::Seq(mut one) if one.len() == 1 => Ok(one.pop().unwrap_or_default()),
        _ => unsupported("nested (a parameter is one value)"),
    }
}

struct TupleCollector(Vec<String>);

impl ser::SerializeTuple for TupleCollector {
    type Ok = Collected;
    type Error = ParamError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ParamError> {
        self.0.push(value_of(value)?);
        Ok(())
    }

    fn end(self) -> Result<Collected, ParamError> {
        Ok(Collected::Seq(self.0))
    }
}

impl ser::SerializeTupleStruct for TupleCollector {
    type Ok = Collected;
    type Error = ParamError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ParamError> {
        ser::SerializeTuple::serialize_element(self, value)
    }

    fn end(self) -> Result<Collected, ParamError> {
        Ok(Collected::Seq(self.0))
    }
}

struct StructCollector(Vec<(&'static str, String)>);

impl ser::SerializeStruct for StructCollector {
    type Ok = Collected;
    type Error = ParamError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ParamError> {
        self.0.push((key, value_of(value)?));
        Ok(())
    }

    fn end(self) -> Result<Collected, ParamError> {
        Ok(Collected::Struct(self.0))
    }
}
