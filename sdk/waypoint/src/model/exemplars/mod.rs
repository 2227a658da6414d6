//! Example-based detection: a message's deep-tier embedding compared with example statements of
//! the rare categories and of ordinary chat (the `common` class), read from an exemplar file
//! ([`format`](mod@format)). T&S teams extend detection by adding examples, without retraining.
//!
//! Per category c with exemplars: `pos_c` is the mean of the top-k cosine similarities to the
//! category's exemplars (k = min(top_k, count)), `neg` the same over the `common` exemplars
//! (0 without any), and `evidence_c = 0` when `pos_c < min_similarity`, else
//! `sigmoid(slope * (pos_c - neg - offset))`. [`combine`] folds the evidence into the category's
//! model probability. `models/train/deep/exemplars.py` is the reference implementation.
//!
//! The exemplars are one contiguous matrix of unit-norm embeddings, grouped by class and stored
//! column-wise (`[512, n]`), so a batch's similarities are one matrix product and one message's
//! are a sum of 512 scaled columns, which vectorises without reordering any sum.

mod format;

use ndarray::{Array2, ArrayView1, Axis, s};
use serde::Serialize;

pub use format::{ExemplarClass, ExemplarFile, ExemplarFileError, ExemplarSet};

use super::deep::{EMBEDDING_DIM, Embedding};
use crate::Category;
use crate::policy::{EvidenceParams, ExemplarPolicy};

/// Where one exemplar came from, for reviewers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    set: usize,
    index: usize,
}

/// The exemplar a message is most similar to, within one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearestExemplar {
    /// The label of the exemplar's set.
    pub label: String,
    /// The set's language.
    pub lang: String,
    /// The exemplar's position inside its set (0-based).
    pub index: usize,
    /// The exemplar as written in the file.
    pub text: String,
    /// Its cosine similarity to the message.
    pub similarity: f32,
}

/// One category's exemplar evidence for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryEvidence {
    /// The category.
    pub category: Category,
    /// Mean of the top-k similarities to the category's exemplars.
    pub pos: f32,
    /// Mean of the top-k similarities to the `common` exemplars (0 without any).
    pub neg: f32,
    /// The evidence in `[0, 1]` from the similarities; it enters the category's score with the
    /// policy's `weight` (times `condemned_factor` when `condemned`).
    pub evidence: f32,
    /// Whether the message condemns what it names: the category has lexicon hits in it
    /// (mentions included) and every one is condemned. Set by the scorer; `false` here.
    pub condemned: bool,
    /// The category's most similar exemplar.
    pub nearest: NearestExemplar,
}

/// Everything the exemplars said about one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExemplarMatch {
    /// The exemplar file's version.
    pub version: String,
    /// Per category that has exemplars, in [`Category::ALL`] order.
    pub categories: Vec<CategoryEvidence>,
}

impl ExemplarMatch {
    /// The evidence for `category`, when it has exemplars.
    pub fn get(&self, category: Category) -> Option<&CategoryEvidence> {
        self.categories.iter().find(|c| c.category == category)
    }
}

/// Errors building an [`ExemplarIndex`] from embeddings.
#[derive(Debug, thiserror::Error)]
pub enum ExemplarIndexError {
    /// The number of embeddings is not the number of exemplars.
    #[error("{got} embeddings for {expected} exemplars")]
    Count {
        /// Embeddings given.
        got: usize,
        /// Exemplars in the file.
        expected: usize,
    },
}

/// The embedded exemplars of one file, ready to score messages.
#[derive(Debug, Clone)]
pub struct ExemplarIndex {
    file: ExemplarFile,
    /// Unit-norm exemplar embeddings as columns, `[512, n]`, grouped: the four categories in
    /// [`Category::ALL`] order, then common.
    columns: Array2<f32>,
    entries: Vec<Entry>,
    /// Row range per category (index = [`Category::index`]) and, last, of `common`.
    ranges: [std::ops::Range<usize>; 5],
}

const COMMON: usize = 4;

fn class_slot(class: ExemplarClass) -> usize {
    match class {
        ExemplarClass::Rare(category) => category.index(),
        ExemplarClass::Common => COMMON,
    }
}

impl ExemplarIndex {
    /// The file's example texts in the order [`ExemplarIndex::from_embeddings`] expects their
    /// embeddings: file order.
    pub fn texts(file: &ExemplarFile) -> Vec<&str> {
        file.sets
            .iter()
            .flat_map(|s| s.examples.iter().map(String::as_str))
            .collect()
    }

    /// Builds the index from one embedding per example, in [`ExemplarIndex::texts`] order.
    pub fn from_embeddings(
        file: ExemplarFile,
        embeddings: &[Embedding],
    ) -> Result<ExemplarIndex, ExemplarIndexError> {
        if embeddings.len() != file.len() {
            return Err(ExemplarIndexError::Count {
                got: embeddings.len(),
                expected: file.len(),
            });
        }
        let mut rows: Vec<(usize, Entry, &Embedding)> = Vec::with_capacity(file.len());
        let mut next = embeddings.iter();
        for (set_index, set) in file.sets.iter().enumerate() {
            for index in 0..set.examples.len() {
                if let Some(embedding) = next.next() {
                    let entry = Entry {
                        set: set_index,
                        index,
                    };
                    rows.push((class_slot(set.class), entry, embedding));
                }
            }
        }
        rows.sort_by_key(|(slot, _, _)| *slot); // stable: file order inside a class
        let mut columns = Array2::<f32>::zeros((EMBEDDING_DIM, rows.len()));
        let mut ranges: [std::ops::Range<usize>; 5] = Default::default();
        for (slot, range) in ranges.iter_mut().enumerate() {
            let start = rows.partition_point(|(s, _, _)| *s < slot);
            let end = rows.partition_point(|(s, _, _)| *s <= slot);
            *range = start..end;
        }
        let mut entries = Vec::with_capacity(rows.len());
        for (row, (_, entry, embedding)) in rows.into_iter().enumerate() {
            let norm = embedding
                .iter()
                .map(|x| f64::from(*x).powi(2))
                .sum::<f64>()
                .sqrt();
            if norm > 0.0 {
                for (out, x) in columns.column_mut(row).iter_mut().zip(embedding.iter()) {
                    *out = (f64::from(*x) / norm) as f32;
                }
            }
            entries.push(entry);
        }
        Ok(ExemplarIndex {
            file,
            columns,
            entries,
            ranges,
        })
    }

    /// The exemplar file's version.
    pub fn version(&self) -> &str {
        &self.file.version
    }

    /// The parsed file.
    pub fn file(&self) -> &ExemplarFile {
        &self.file
    }

    /// Number of exemplars.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no exemplars.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The exemplar evidence for each message embedding, in order: one matrix product for the
    /// whole batch, then the top-k means per category.
    pub fn score(&self, embeddings: &[Embedding], policy: &ExemplarPolicy) -> Vec<ExemplarMatch> {
        let messages = unit_rows(embeddings);
        if messages.nrows() == 1 {
            let sims = self.similarities_one(messages.row(0));
            return vec![self.match_row(ArrayView1::from(&sims), policy)];
        }
        let similarities = messages.dot(&self.columns);
        similarities
            .axis_iter(Axis(0))
            .map(|row| self.match_row(row, policy))
            .collect()
    }

    /// One unit-norm message's similarity to every exemplar: the columns scaled by the message's
    /// components and summed, four at a time (a matrix-vector product that keeps each exemplar's
    /// sum in order, so the compiler vectorises it across exemplars).
    fn similarities_one(&self, message: ArrayView1<'_, f32>) -> Vec<f32> {
        let n = self.columns.ncols();
        let mut out = vec![0.0_f32; n];
        let (Some(columns), Some(message)) = (self.columns.as_slice(), message.as_slice()) else {
            // Not contiguous (never for the index's own matrix): the general product.
            return self.columns.t().dot(&message).to_vec();
        };
        if n == 0 {
            return out;
        }
        let mut blocks = columns.chunks_exact(4 * n).zip(message.chunks_exact(4));
        for (block, x) in blocks.by_ref() {
            let (c0, rest) = block.split_at(n);
            let (c1, rest) = rest.split_at(n);
            let (c2, c3) = rest.split_at(n);
            for ((((o, a), b), c), d) in out.iter_mut().zip(c0).zip(c1).zip(c2).zip(c3) {
                *o += x[0] * a + x[1] * b + x[2] * c + x[3] * d;
            }
        }
        let done = message.len() / 4 * 4;
        for (column, x) in columns[done * n..].chunks_exact(n).zip(&message[done..]) {
            for (o, c) in out.iter_mut().zip(column) {
                *o += x * c;
            }
        }
        out
    }

    fn match_row(&self, row: ArrayView1<'_, f32>, policy: &ExemplarPolicy) -> ExemplarMatch {
        let neg = top_k_mean(row.slice(s![self.ranges[COMMON].clone()]), policy.top_k);
        let categories = Category::ALL
            .into_iter()
            .filter(|c| !self.ranges[c.index()].is_empty())
            .map(|category| {
                let range = self.ranges[category.index()].clone();
                let sims = row.slice(s![range.clone()]);
                let pos = top_k_mean(sims, policy.top_k);
                let params = policy.category(category);
                let (best, similarity) =
                    sims.iter()
                        .enumerate()
                        .fold(
                            (0, f32::NEG_INFINITY),
                            |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
                        );
                CategoryEvidence {
                    category,
                    pos,
                    neg,
                    evidence: evidence(pos, neg, params),
                    condemned: false,
                    nearest: self.nearest(range.start + best, similarity),
                }
            })
            .collect();
        ExemplarMatch {
            version: self.file.version.clone(),
            categories,
        }
    }

    fn nearest(&self, row: usize, similarity: f32) -> NearestExemplar {
        let entry = &self.entries[row];
        let set = &self.file.sets[entry.set];
        NearestExemplar {
            label: set.label.clone(),
            lang: set.lang.clone(),
            index: entry.index,
            text: set.examples[entry.index].clone(),
            similarity,
        }
    }
}

fn unit_rows(embeddings: &[Embedding]) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((embeddings.len(), EMBEDDING_DIM));
    for (mut row, embedding) in out.axis_iter_mut(Axis(0)).zip(embeddings) {
        let norm = embedding
            .iter()
            .map(|x| f64::from(*x).powi(2))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            for (o, x) in row.iter_mut().zip(embedding.iter()) {
                *o = (f64::from(*x) / norm) as f32;
            }
        }
    }
    out
}

/// Mean of the `min(top_k, n)` largest values (0 for none).
fn top_k_mean(row: ArrayView1<'_, f32>, top_k: usize) -> f32 {
    let mut values: Vec<f32> = row.iter().copied().collect();
    if values.is_empty() {
        return 0.0;
    }
    let k = top_k.clamp(1, values.len());
    if k < values.len() {
        values.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    }
    values[..k].iter().sum::<f32>() / k as f32
}

/// `0` when `pos < min_similarity`, else `sigmoid(slope * (pos - neg - offset))`.
pub fn evidence(pos: f32, neg: f32, params: &EvidenceParams) -> f32 {
    if pos < params.min_similarity {
        return 0.0;
    }
    let x = f64::from(params.slope) * (f64::from(pos) - f64::from(neg) - f64::from(params.offset));
    (1.0 / (1.0 + (-x).exp())) as f32
}

/// The category's model probability after the exemplar evidence: `1 - (1 - p)(1 - weight · evidence)`.
pub fn combine(probability: f32, evidence: f32, weight: f32) -> f32 {
    1.0 - (1.0 - probability) * (1.0 - weight.clamp(0.0, 1.0) * evidence.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(i: usize, j: usize, cos: f32) -> Embedding {
        // A unit vector at angle acos(cos) from axis i, towards axis j.
        let mut e = [0.0_f32; EMBEDDING_DIM];
        e[i] = cos;
        e[j] = (1.0 - cos * cos).sqrt();
        e
    }

    fn file() -> ExemplarFile {
        ExemplarFile::parse(
            "version = \"t1\"\n\
             [[set]]\ncategory = \"common\"\nlang = \"en\"\nlabel = \"chat\"\nexamples = [\"c0\", \"c1\"]\n\
             [[set]]\ncategory = \"extremism\"\nlang = \"en\"\nlabel = \"glory\"\nexamples = [\"x0\", \"x1\", \"x2\"]\n",
            "t.toml",
        )
        .expect("valid fixture")
    }

    #[test]
    fn pos_neg_and_evidence_follow_the_formula() {
        // Extremism exemplars along axis 0 at cosines 1, 0.8, 0.6 to the message; common ones at
        // 0.3 and 0.1.
        let embeddings = [
            axis(0, 10, 0.3),
            axis(0, 11, 0.1),
            axis(0, 1, 1.0),
            axis(0, 2, 0.8),
            axis(0, 3, 0.6),
        ];
        let index = ExemplarIndex::from_embeddings(file(), &embeddings).expect("five rows");
        let mut message = [0.0_f32; EMBEDDING_DIM];
        message[0] = 2.0; // not unit: the index normalises
        let policy = ExemplarPolicy {
            top_k: 2,
            ..ExemplarPolicy::default()
        };
        let m = &index.score(&[message], &policy)[0];
        assert_eq!(m.version, "t1");
        assert_eq!(m.categories.len(), 1);
        let e = m.get(Category::Extremism).expect("extremism has exemplars");
        assert!((e.pos - 0.9).abs() < 1e-5, "{e:?}");
        assert!((e.neg - 0.2).abs() < 1e-5, "{e:?}");
        let p = policy.category(Category::Extremism);
        let expected = 1.0 / (1.0 + (-(p.slope * (0.9 - 0.2 - p.offset))).exp());
        assert!((e.evidence - expected).abs() < 1e-5, "{e:?}");
        assert_eq!(
            (
                e.nearest.label.as_str(),
                e.nearest.index,
                e.nearest.text.as_str()
            ),
            ("glory", 0, "x0")
        );
        assert!(m.get(Category::Threat).is_none());
    }

    #[test]
    fn below_min_similarity_there_is_no_evidence_and_k_is_capped_by_the_count() {
        let embeddings = [
            axis(0, 10, 0.3),
            axis(0, 11, 0.1),
            axis(0, 1, 0.4),
            axis(0, 2, 0.2),
            axis(0, 3, 0.0),
        ];
        let index = ExemplarIndex::from_embeddings(file(), &embeddings).expect("five rows");
        let policy = ExemplarPolicy {
            top_k: 10,
            ..ExemplarPolicy::default()
        };
        let e = index.score(&[axis(0, 5, 1.0)], &policy)[0].categories[0].clone();
        assert!((e.pos - 0.2).abs() < 1e-5, "mean of all three: {e:?}");
        assert!((e.neg - 0.2).abs() < 1e-5, "mean of both: {e:?}");
        assert_eq!(e.evidence, 0.0);
    }

    #[test]
    fn combine_is_a_noisy_or_scaled_by_weight() {
        assert!((combine(0.2, 0.5, 0.8) - (1.0 - 0.8 * 0.6)).abs() < 1e-6);
        assert_eq!(combine(0.3, 0.0, 0.9), 0.3);
        assert_eq!(combine(0.3, 1.0, 1.0), 1.0);
    }

    #[test]
    fn one_message_scores_as_it_does_inside_a_batch() {
        // Deterministic, dense, non-unit vectors: every column and component takes part.
        let vector = |seed: usize| -> Embedding {
            std::array::from_fn(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0) - 1.0)
        };
        let embeddings: Vec<Embedding> = (0..5).map(vector).collect();
        let index = ExemplarIndex::from_embeddings(file(), &embeddings).expect("five rows");
        let policy = ExemplarPolicy::default();
        let (a, b) = (vector(11), vector(12));
        let alone = &index.score(&[a], &policy)[0];
        let batched = &index.score(&[a, b], &policy)[0];
        for (x, y) in alone.categories.iter().zip(&batched.categories) {
            assert!((x.pos - y.pos).abs() < 1e-6, "{x:?} vs {y:?}");
            assert!((x.neg - y.neg).abs() < 1e-6, "{x:?} vs {y:?}");
            assert!((x.nearest.similarity - y.nearest.similarity).abs() < 1e-6);
            assert_eq!(x.nearest.index, y.nearest.index);
        }
    }

    #[test]
    fn a_wrong_embedding_count_is_an_error() {
        assert!(ExemplarIndex::from_embeddings(file(), &[axis(0, 1, 1.0)]).is_err());
    }
}
