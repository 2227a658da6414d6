//! The harm categories Waypoint scores and the per-category score vector.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A harm category the models and the lexicon report on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Personal attacks, slurs aimed at a person, degrading language.
    Insult,
    /// Attacks on people for a protected characteristic (ethnicity, religion, gender, sexuality, disability, …).
    Hate,
    /// Threats or calls for violence against real people (not in-game actions).
    Threat,
    /// Violent-extremist propaganda, recruitment, glorification, or coded extremist references.
    Extremism,
}

impl Category {
    /// Every category, in the fixed order of model outputs and score vectors.
    pub const ALL: [Category; 4] = [
        Category::Insult,
        Category::Hate,
        Category::Threat,
        Category::Extremism,
    ];

    /// Position of this category in [`Category::ALL`] and in model outputs.
    pub const fn index(self) -> usize {
        match self {
            Category::Insult => 0,
            Category::Hate => 1,
            Category::Threat => 2,
            Category::Extremism => 3,
        }
    }

    /// The lowercase name used in policy files, JSON output and model manifests.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Insult => "insult",
            Category::Hate => "hate",
            Category::Threat => "threat",
            Category::Extremism => "extremism",
        }
    }

    /// Parses a lowercase category name.
    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One probability in `[0, 1]` per [`Category`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores(pub [f32; 4]);

impl Scores {
    /// The probability for `category`.
    pub fn get(&self, category: Category) -> f32 {
        self.0[category.index()]
    }

    /// Sets the probability for `category`, clamped to `[0, 1]` (NaN becomes 0).
    pub fn set(&mut self, category: Category, value: f32) {
        self.0[category.index()] = if value.is_nan() {
            0.0
        } else {
            value.clamp(0.0, 1.0)
        };
    }

    /// Iterates `(category, probability)` pairs in [`Category::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Category, f32)> + '_ {
        Category::ALL.into_iter().map(|c| (c, self.get(c)))
    }

    /// The category with the highest probability and that probability.
    pub fn max(&self) -> (Category, f32) {
        self.iter().fold((Category::Insult, f32::MIN), |best, cur| {
            if cur.1 > best.1 { cur } else { best }
        })
    }
}

impl Serialize for Scores {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(4))?;
        for (category, p) in self.iter() {
            // Four decimals are plenty for a probability and keep JSON lines short.
            map.serialize_entry(category.as_str(), &((p * 10_000.0).round() / 10_000.0))?;
        }
        map.end()
    }
}
