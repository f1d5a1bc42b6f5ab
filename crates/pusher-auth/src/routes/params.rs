//! Route parameters into the handler's types (one value, a tuple, a struct, or unit), and the
//! check at registration that a handler's type can take its pattern's parameters.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use super::pattern::Pattern;
use super::Captures;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ParamErrorKind {
    /// The client's value does not parse (`room.abc` for a number): a denial.
    Value,
    /// The handler's type does not fit the pattern: the app's mistake.
    Shape,
}

/// Why route parameters did not deserialize.
#[derive(Debug)]
pub(super) struct ParamError {
    pub(super) kind: ParamErrorKind,
    pub(super) message: String,
}

impl ParamError {
    fn shape(message: String) -> Self {
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

pub(super) struct ParamsDeserializer<'a, 'b>(pub(super) &'b Captures<'a>);

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
pub(super) fn check_shape<P: DeserializeOwned>(pattern: &Pattern) -> Result<(), String> {
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
