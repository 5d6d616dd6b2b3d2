//! Smithy RPC v2 CBOR bodies (what `aws-sdk-cloudwatch` sends), with `aws-smithy-cbor`, the codec
//! the AWS SDK for Rust itself uses.
//!
//! Decoding is bounded: nesting deeper than [`MAX_DEPTH`] is refused before recursing, lengths a
//! header claims are never allocated up front (each element must be read from the body, whose size
//! the router bounds), and every malformed input is an error, never a panic (`fuzz_cloudwatch_*`).
//! Timestamps are tag 1 over an integer or a float (epoch seconds); other tags are refused.

use aws_smithy_cbor::data::Type;
use aws_smithy_cbor::{Decoder, Encoder};
use aws_smithy_types::DateTime;

use super::value::{MAX_DEPTH, Value};

/// Why a body is not a CBOR document this service reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed CBOR body: {0}")]
pub struct CborError(pub String);

fn error(what: impl std::fmt::Display) -> CborError {
    CborError(what.to_string())
}

/// Decodes one CBOR data item filling the whole body; an empty body is an empty map (an input with
/// no members set may be sent without a body).
pub fn decode(body: &[u8]) -> Result<Value, CborError> {
    if body.is_empty() {
        return Ok(Value::Map(Vec::new()));
    }
    let mut decoder = Decoder::new(body);
    let value = item(&mut decoder, 0)?;
    if decoder.position() != body.len() {
        return Err(error(format!("{} bytes after the document", body.len() - decoder.position())));
    }
    Ok(value)
}

/// Whether the next element is the break that ends an indefinite-length list or map.
fn at_break(decoder: &Decoder) -> Result<bool, CborError> {
    Ok(decoder.datatype().map_err(error)? == Type::Break)
}

fn skip_break(decoder: &mut Decoder) -> Result<(), CborError> {
    decoder.skip().map_err(error)
}

fn item(decoder: &mut Decoder, depth: usize) -> Result<Value, CborError> {
    let value = match decoder.datatype().map_err(error)? {
        Type::Bool => Value::Bool(decoder.boolean().map_err(error)?),
        Type::Null | Type::Undefined => {
            decoder.skip().map_err(error)?;
            Value::Null
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            Value::Int(decoder.long().map_err(error)?)
        }
        Type::F16 | Type::F32 | Type::F64 => Value::Float(decoder.double().map_err(error)?),
        Type::String | Type::StringIndef => Value::Str(decoder.string().map_err(error)?),
        Type::Bytes | Type::BytesIndef => {
            decoder.blob().map_err(error)?;
            Value::Other
        }
        Type::Simple => {
            decoder.skip().map_err(error)?;
            Value::Other
        }
        Type::Tag => {
            let at =
                decoder.timestamp().map_err(|e| error(format!("only tag 1 (epoch-seconds timestamp) is read: {e}")))?;
            Value::Timestamp(at.as_secs_f64())
        }
        Type::Array | Type::ArrayIndef => {
            let depth = deeper(depth)?;
            let mut items = Vec::new();
            match decoder.list().map_err(error)? {
                Some(n) => {
                    for _ in 0..n {
                        items.push(item(decoder, depth)?);
                    }
                }
                None => {
                    while !at_break(decoder)? {
                        items.push(item(decoder, depth)?);
                    }
                    skip_break(decoder)?;
                }
            }
            Value::List(items)
        }
        Type::Map | Type::MapIndef => {
            let depth = deeper(depth)?;
            let mut members = Vec::new();
            match decoder.map().map_err(error)? {
                Some(n) => {
                    for _ in 0..n {
                        members.push(member(decoder, depth)?);
                    }
                }
                None => {
                    while !at_break(decoder)? {
                        members.push(member(decoder, depth)?);
                    }
                    skip_break(decoder)?;
                }
            }
            Value::Map(members)
        }
        Type::Break => return Err(error("unexpected break")),
        Type::Unknown(byte) => return Err(error(format!("unknown initial byte {byte:#04x}"))),
    };
    Ok(value)
}

fn deeper(depth: usize) -> Result<usize, CborError> {
    if depth >= MAX_DEPTH {
        return Err(error(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    Ok(depth + 1)
}

fn member(decoder: &mut Decoder, depth: usize) -> Result<(String, Value), CborError> {
    let key = match decoder.datatype().map_err(error)? {
        Type::String | Type::StringIndef => decoder.string().map_err(error)?,
        other => return Err(error(format!("map keys must be text strings, not {other:?}"))),
    };
    Ok((key, item(decoder, depth)?))
}

/// Renders `value` as CBOR (maps and lists with definite lengths, timestamps as tag 1 over a
/// float, as the SDK writes them).
pub fn encode(value: &Value) -> Vec<u8> {
    let mut encoder = Encoder::new(Vec::new());
    write(&mut encoder, value);
    encoder.into_writer()
}

fn write(encoder: &mut Encoder, value: &Value) {
    match value {
        Value::Null | Value::Other => {
            encoder.null();
        }
        Value::Bool(b) => {
            encoder.boolean(*b);
        }
        Value::Int(n) => {
            encoder.long(*n);
        }
        Value::Float(x) => {
            encoder.double(*x);
        }
        Value::Str(s) => {
            encoder.str(s);
        }
        Value::Timestamp(t) => {
            encoder.timestamp(&DateTime::from_secs_f64(*t));
        }
        Value::List(items) => {
            encoder.array(items.len());
            for item in items {
                write(encoder, item);
            }
        }
        Value::Map(members) => {
            encoder.map(members.len());
            for (key, item) in members {
                encoder.str(key);
                write(encoder, item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::cloudwatch::value::strategy;

    #[test]
    fn round_trips_what_the_service_answers() {
        let value = Value::map([
            ("Label", Value::str("ActiveSessionCount")),
            ("Timestamps", Value::List(vec![Value::Timestamp(1_800_000_000.0), Value::Timestamp(1_800_000_060.5)])),
            ("Values", Value::List(vec![Value::Float(3.0), Value::Float(0.25)])),
            ("Count", Value::Int(-7)),
            ("Ok", Value::Bool(true)),
        ]);
        assert_eq!(decode(&encode(&value)).unwrap(), value);
        assert_eq!(decode(b"").unwrap(), Value::Map(Vec::new()));
    }

    #[test]
    fn reads_indefinite_lengths_and_integer_timestamps() {
        // {_ "a": [_ 1, 2], "t": 1(1800000000)} with a break after each indefinite item.
        let body = [0xbf, 0x61, b'a', 0x9f, 0x01, 0x02, 0xff, 0x61, b't', 0xc1, 0x1a, 0x6b, 0x49, 0xd2, 0x00, 0xff];
        let expected = Value::map([
            ("a", Value::List(vec![Value::Int(1), Value::Int(2)])),
            ("t", Value::Timestamp(1_800_000_000.0)),
        ]);
        assert_eq!(decode(&body).unwrap(), expected);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let deep: Vec<u8> = std::iter::repeat_n(0x81, MAX_DEPTH + 1).chain([0x01]).collect();
        assert!(decode(&deep).unwrap_err().0.contains("nested deeper"));
        let shallow: Vec<u8> = std::iter::repeat_n(0x81, MAX_DEPTH).chain([0x01]).collect();
        assert!(decode(&shallow).is_ok());
        for bad in [
            &[0xa1, 0x01, 0x02][..],                                 // a non-text key
            &[0xc2, 0x41, 0x01],                                     // tag 2 (bignum)
            &[0x01, 0x02],                                           // trailing bytes
            &[0xff],                                                 // a lone break
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // 2^64 - 1 items claimed
            &[0x7a, 0xff, 0xff, 0xff, 0xff],                         // a 4 GB string claimed
            &[0xbf, 0x61, b'a'],                                     // cut short
        ] {
            assert!(decode(bad).is_err(), "{bad:02x?}");
        }
    }

    /// Whether `value` reads back as itself once written: no NaN (never equal to itself), no
    /// `Other` (written as null), and timestamps that binary floats hold exactly (the codec keeps
    /// milliseconds, truncated, of a float's approximation).
    fn comparable(value: &Value) -> bool {
        match value {
            Value::Float(x) => !x.is_nan(),
            Value::Timestamp(x) => (x * 4.0).fract() == 0.0,
            Value::Other => false,
            Value::List(items) => items.iter().all(comparable),
            Value::Map(members) => members.iter().all(|(_, v)| comparable(v)),
            _ => true,
        }
    }

    /// Any bytes decode to a value within the depth bound or to a clean error, never a panic; what
    /// decodes re-encodes to the same value.
    fn check_any(body: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(value) = decode(body) {
            prop_assert!(strategy::depth(&value) <= MAX_DEPTH, "{value:?}");
            if comparable(&value) {
                prop_assert_eq!(decode(&encode(&value)), Ok(value));
            }
        }
        Ok(())
    }

    /// Initial bytes that open the structures a decoder must bound: indefinite lists, maps, byte
    /// and text strings and their break, tag 1, floats of each width, 8-byte lengths, simple values.
    const HEADS: [u8; 14] = [0x9f, 0xbf, 0xff, 0xc1, 0xfb, 0xf9, 0x61, 0x82, 0xa1, 0x1b, 0x3b, 0x5f, 0x7f, 0xf7];

    proptest! {
        #[test]
        fn fuzz_cloudwatch_cbor_decode(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            check_any(&body)?;
        }

        /// Bytes shaped like CBOR (valid heads, nesting, tags) decode or fail cleanly too.
        #[test]
        fn fuzz_cloudwatch_cbor_structured(
            heads in proptest::collection::vec(
                (any::<u8>(), prop::sample::select(HEADS.to_vec()), any::<u8>())
                    .prop_map(|(pick, head, byte)| if pick < 224 { head } else { byte }),
                0..128,
            )
        ) {
            check_any(&heads)?;
        }

        /// Every document the service can hold is written and read back unchanged, also cut short
        /// anywhere (an error, never a panic or a different document).
        #[test]
        fn fuzz_cloudwatch_cbor_round_trip(value in strategy::document(strategy::scalar()), cut in any::<prop::sample::Index>()) {
            let body = encode(&value);
            prop_assert_eq!(decode(&body), Ok(value));
            let cut = cut.index(body.len());
            if cut > 0 {
                prop_assert!(decode(&body[..cut]).is_err(), "a prefix of {} bytes decoded", cut);
            }
        }
    }
}
