//! Mapping a data set's labels to Waypoint categories (`--map hateful=hate,non-hateful=none`).
//!
//! A label maps to a **target**: `none` (benign: a negative for every category), one or more
//! categories joined by `+` (`cv=threat+hate`: a positive for each), or `skip` (left out of every
//! metric and counted separately, for labels that are neither benign nor a category, such as
//! CONDA's action requests). Without `--map`, the labels themselves must be targets.

use std::collections::HashMap;

use waypoint::Category;

/// What a labelled line counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Benign: a negative for every category and for "any".
    Benign,
    /// Left out of every metric on purpose.
    Skip,
    /// A positive for these categories (never empty).
    Positive(CategorySet),
}

/// A non-empty set of categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategorySet(u8);

impl CategorySet {
    /// Whether `category` is in the set.
    pub fn contains(self, category: Category) -> bool {
        self.0 & (1 << category.index()) != 0
    }
}

/// Errors in `--map`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// An entry is not `label=target`.
    #[error("--map entry {0:?} is not of the form label=target")]
    NotAPair(String),
    /// A target names something that is not a category, `none` or `skip`.
    #[error(
        "--map target {0:?} is not `none`, `skip` or categories joined by `+` \
         (insult, hate, threat, extremism)"
    )]
    BadTarget(String),
    /// The same label is mapped twice, differently.
    #[error("--map maps label {0:?} twice, to different targets")]
    Conflict(String),
}

/// Parses a target: `none`, `skip`, or categories joined by `+` (`threat+hate`).
pub fn parse_target(text: &str) -> Result<Target, LabelError> {
    let bad = || LabelError::BadTarget(text.to_owned());
    match text.trim() {
        "none" => Ok(Target::Benign),
        "skip" => Ok(Target::Skip),
        list => {
            let mut bits = 0_u8;
            for name in list.split('+') {
                let category = Category::parse(name.trim()).ok_or_else(bad)?;
                bits |= 1 << category.index();
            }
            Ok(Target::Positive(CategorySet(bits)))
        }
    }
}

/// Label → target, from `--map` options; empty means "labels are targets".
#[derive(Debug, Clone, Default)]
pub struct LabelMap {
    entries: HashMap<String, Target>,
}

impl LabelMap {
    /// Parses every `--map` value (each a comma-separated list of `label=target`).
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<LabelMap, LabelError> {
        let mut entries = HashMap::new();
        for spec in specs {
            for pair in spec.as_ref().split(',').filter(|p| !p.trim().is_empty()) {
                let (label, target) = pair
                    .split_once('=')
                    .ok_or_else(|| LabelError::NotAPair(pair.to_owned()))?;
                let label = label.trim();
                if label.is_empty() {
                    return Err(LabelError::NotAPair(pair.to_owned()));
                }
                let target = parse_target(target)?;
                if let Some(previous) = entries.insert(label.to_owned(), target)
                    && previous != target
                {
                    return Err(LabelError::Conflict(label.to_owned()));
                }
            }
        }
        Ok(LabelMap { entries })
    }

    /// Whether no `--map` was given.
    pub fn is_identity(&self) -> bool {
        self.entries.is_empty()
    }

    /// The target of `label` (compared after trimming), or `None` when it is unmapped.
    pub fn resolve(&self, label: &str) -> Option<Target> {
        let label = label.trim();
        if self.is_identity() {
            parse_target(label).ok()
        } else {
            self.entries.get(label).copied()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_labels_to_targets() {
        let map = LabelMap::parse(&["hateful=hate,non-hateful=none", "cv=threat+hate,A=skip"])
            .expect("valid map");
        assert_eq!(map.resolve("non-hateful"), Some(Target::Benign));
        assert_eq!(map.resolve(" A "), Some(Target::Skip));
        let Some(Target::Positive(set)) = map.resolve("cv") else {
            panic!("cv is a positive");
        };
        assert!(set.contains(Category::Threat) && set.contains(Category::Hate));
        assert!(!set.contains(Category::Insult));
        assert_eq!(map.resolve("other"), None);
    }

    #[test]
    fn identity_map_reads_targets() {
        let map = LabelMap::default();
        assert_eq!(map.resolve("none"), Some(Target::Benign));
        assert!(matches!(map.resolve("insult"), Some(Target::Positive(_))));
        assert_eq!(map.resolve("hateful"), None);
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(matches!(
            LabelMap::parse(&["hateful"]),
            Err(LabelError::NotAPair(_))
        ));
        assert!(matches!(
            LabelMap::parse(&["x=rude"]),
            Err(LabelError::BadTarget(_))
        ));
        assert!(matches!(
            LabelMap::parse(&["x=hate,x=none"]),
            Err(LabelError::Conflict(_))
        ));
    }
}
