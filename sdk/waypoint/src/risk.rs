//! Accumulated risk per category and its decay: the quantity player state keeps and the ladder
//! reads. Below both, so neither depends on the other for it.

use std::time::Duration;

use serde::Serialize;

use crate::Category;

/// Accumulated risk per category: decayed sums of evidence, `>= 0` and unbounded above.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Risk(pub [f32; 4]);

impl Risk {
    /// The risk in `category`.
    pub fn get(&self, category: Category) -> f32 {
        self.0[category.index()]
    }

    /// Adds `value` (negative and NaN values are ignored) to `category`.
    pub fn add(&mut self, category: Category, value: f32) {
        if value.is_finite() && value > 0.0 {
            self.0[category.index()] += value;
        }
    }

    /// Adds every category of `other`.
    pub fn add_all(&mut self, other: &Risk) {
        for category in Category::ALL {
            self.add(category, other.get(category));
        }
    }

    /// Multiplies every category by `factor` (clamped to be `>= 0`).
    pub fn scale(&mut self, factor: f32) {
        let factor = if factor.is_finite() {
            factor.max(0.0)
        } else {
            0.0
        };
        for value in &mut self.0 {
            *value *= factor;
        }
    }

    /// Whether any category is above zero.
    pub fn any(&self) -> bool {
        self.0.iter().any(|v| *v > 0.0)
    }

    /// The category with the highest risk and that risk.
    pub fn max(&self) -> (Category, f32) {
        Category::ALL.into_iter().map(|c| (c, self.get(c))).fold(
            (Category::Insult, f32::MIN),
            |best, cur| {
                if cur.1 > best.1 { cur } else { best }
            },
        )
    }
}

impl Serialize for Risk {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(4))?;
        for category in Category::ALL {
            map.serialize_entry(
                category.as_str(),
                &((self.get(category) * 1000.0).round() / 1000.0),
            )?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for Risk {
    /// Reads the map form [`Risk`] serialises to (category name → value); missing categories
    /// read as zero, unknown names are rejected.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Risk, D::Error> {
        let map = std::collections::BTreeMap::<String, f32>::deserialize(deserializer)?;
        let mut risk = Risk::default();
        for (name, value) in map {
            let category = Category::parse(&name).ok_or_else(|| {
                serde::de::Error::custom(format!("unknown risk category {name:?}"))
            })?;
            risk.0[category.index()] = value;
        }
        Ok(risk)
    }
}

/// Serde for a [`Risk`] kept in a store: the four values unrounded, in [`Category::ALL`] order
/// (the map form rounds to three decimals for display).
pub mod exact_risk {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Risk;

    /// Writes the four values as an array.
    pub fn serialize<S: Serializer>(risk: &Risk, serializer: S) -> Result<S::Ok, S::Error> {
        risk.0.serialize(serializer)
    }

    /// Reads the four values back.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Risk, D::Error> {
        <[f32; 4]>::deserialize(deserializer).map(Risk)
    }
}

/// The fraction left of a value after `elapsed` with the given half-life.
pub fn decay_factor(elapsed: Duration, half_life: Duration) -> f32 {
    if half_life.is_zero() {
        return 0.0;
    }
    0.5_f64.powf(elapsed.as_secs_f64() / half_life.as_secs_f64()) as f32
}
