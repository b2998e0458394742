//! Serde for `f64` fields that may hold NaN or an infinity (a diverged loss, an exploded
//! activation statistic). JSON has no such numbers and serde_json writes them as `null`,
//! which cannot be read back into an `f64`; with `#[serde(with = "initlab_nn::nonfinite")]`
//! finite values stay numbers and the others become the strings `"NaN"`, `"inf"` and
//! `"-inf"`, so what is written reads back bit for bit (NaN's payload aside).

use serde::{Deserialize, Deserializer, Serializer};

/// Writes `value` as a number, or as `"NaN"`, `"inf"` or `"-inf"`.
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    match *value {
        v if v.is_finite() => serializer.serialize_f64(v),
        v if v.is_nan() => serializer.serialize_str("NaN"),
        v if v > 0.0 => serializer.serialize_str("inf"),
        _ => serializer.serialize_str("-inf"),
    }
}

/// Reads a number, or one of `"NaN"`, `"inf"` and `"-inf"`.
///
/// # Errors
/// Any other string or type.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }
    match Repr::deserialize(deserializer)? {
        Repr::Number(v) => Ok(v),
        Repr::Text(text) => match text.as_str() {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            _ => Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&text),
                &"a number, \"NaN\", \"inf\" or \"-inf\"",
            )),
        },
    }
}

/// The same for `Option<f64>`, with `None` as `null`.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `None` as `null`, else as [`super::serialize`] does.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            None => serializer.serialize_none(),
            Some(v) => super::serialize(v, serializer),
        }
    }

    /// Reads `null` as `None`, else as [`super::deserialize`] does.
    ///
    /// # Errors
    /// Any other string or type.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super")] f64);
        Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(v)| v))
    }
}
