//! The linear models over hashed n-gram features evaluated in Rust: the fast tier (`K` = 4, one
//! output per category) and the stance model (`K` = 1). The ONNX file stays the single source of
//! truth, its initializers (weights, bias, Platt calibration) are read at load time and the
//! sparse dot product is computed directly instead of through a dense, padded ONNX Runtime call.
//!
//! Only the graph `models/train/export_onnx.py` writes is accepted, checked node by node:
//!
//! ```text
//! gathered      = Gather(W[FEATURE_DIM, K], indices)        axis 0
//! values_3d     = Unsqueeze(values, [-1])
//! weighted      = Mul(gathered, values_3d)
//! raw_logits    = ReduceSum(weighted, [1])                   keepdims 0
//! logits        = Add(raw_logits, bias[K])
//! scaled        = Mul(logits, platt_scale[K])
//! calibrated    = Add(scaled, platt_offset[K])
//! probabilities = Sigmoid(calibrated)
//! ```
//!
//! Anything else (another operator, wiring, shape, data type, external data) is refused with the
//! reason, and the caller falls back to ONNX Runtime, which runs any graph.

use std::collections::HashMap;

use super::features::{FEATURE_DIM, FeatureCounts, for_each_feature};
use super::protobuf::{Reader, Value, WireError};
use crate::{Category, Scores};

/// Number of outputs of the fast tier: one per [`Category`].
const OUTPUTS: usize = Category::ALL.len();

/// ONNX `TensorProto.DataType` codes used here.
const FLOAT: i64 = 1;
const INT64: i64 = 7;

/// Why an ONNX file cannot be evaluated natively.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinearGraphError {
    /// The bytes are not a readable ONNX `ModelProto`.
    #[error("not a readable ONNX model: {0}")]
    Malformed(String),
    /// The graph is readable but not the linear shape.
    #[error("the graph is not the linear model over hashed n-grams: {0}")]
    Shape(String),
}

impl From<WireError> for LinearGraphError {
    fn from(e: WireError) -> Self {
        LinearGraphError::Malformed(e.0)
    }
}

fn shape_error(reason: impl Into<String>) -> LinearGraphError {
    LinearGraphError::Shape(reason.into())
}

/// The calibrated linear model with `K` outputs:
/// `sigmoid((Σ value × W[bucket] + bias) × scale + offset)`.
#[derive(Clone)]
pub(crate) struct LinearModel<const K: usize> {
    /// `[FEATURE_DIM][K]`, row-major, as in the ONNX initializer.
    weights: Vec<[f32; K]>,
    bias: [f32; K],
    scale: [f32; K],
    offset: [f32; K],
}

impl<const K: usize> LinearModel<K> {
    /// Reads and checks a serialised ONNX model.
    pub(crate) fn from_onnx(bytes: &[u8]) -> Result<LinearModel<K>, LinearGraphError> {
        let model = parse_model(bytes)?;
        match_linear(&model)
    }

    /// The probabilities of one normalised text; allocates nothing once `counts` has grown.
    pub(crate) fn probabilities(&self, normalized: &str, counts: &mut FeatureCounts) -> [f32; K] {
        // Each product is rounded to f32 as ONNX Runtime's Mul does; sums run in f64.
        let mut sums = [0_f64; K];
        for_each_feature(normalized, counts, |bucket, value| {
            if let Some(row) = self.weights.get(bucket) {
                for (sum, w) in sums.iter_mut().zip(row) {
                    *sum += f64::from(w * value);
                }
            }
        });
        std::array::from_fn(|k| {
            let logit = sums[k] + f64::from(self.bias[k]);
            let calibrated = logit * f64::from(self.scale[k]) + f64::from(self.offset[k]);
            (1.0 / (1.0 + (-calibrated).exp())) as f32
        })
    }
}

/// The fast tier's linear model: one output per [`Category`].
pub(crate) type CategoryModel = LinearModel<OUTPUTS>;

impl CategoryModel {
    /// The fast tier's scores of one normalised text; allocates nothing once `counts` has grown.
    pub(crate) fn score(&self, normalized: &str, counts: &mut FeatureCounts) -> Scores {
        let mut scores = Scores::default();
        let probabilities = self.probabilities(normalized, counts);
        for (category, p) in Category::ALL.into_iter().zip(probabilities) {
            scores.set(category, p);
        }
        scores
    }
}

/// A tensor initializer, as far as this graph needs one.
#[derive(Default)]
struct Tensor<'a> {
    dims: Vec<i64>,
    data_type: i64,
    raw: Option<&'a [u8]>,
    floats: Vec<f32>,
    int64s: Vec<i64>,
    external: bool,
}

impl Tensor<'_> {
    fn describe(&self) -> String {
        format!("type {} dims {:?}", self.data_type, self.dims)
    }

    fn f32_values(&self) -> Result<Vec<f32>, String> {
        if self.data_type != FLOAT {
            return Err(format!("is {}, expected float", self.describe()));
        }
        match self.raw {
            Some(raw) if raw.len() % 4 == 0 => Ok(raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()),
            Some(raw) => Err(format!(
                "has {} raw bytes, not a whole number of floats",
                raw.len()
            )),
            None => Ok(self.floats.clone()),
        }
    }

    fn i64_values(&self) -> Result<Vec<i64>, String> {
        if self.data_type != INT64 {
            return Err(format!("is {}, expected int64", self.describe()));
        }
        match self.raw {
            Some(raw) if raw.len() % 8 == 0 => Ok(raw
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect()),
            Some(raw) => Err(format!(
                "has {} raw bytes, not a whole number of int64s",
                raw.len()
            )),
            None => Ok(self.int64s.clone()),
        }
    }
}

/// One graph node.
struct Node<'a> {
    op_type: &'a str,
    domain: &'a str,
    inputs: Vec<&'a str>,
    outputs: Vec<&'a str>,
    /// Integer attributes by name; other attribute kinds are kept as `None`.
    attributes: HashMap<&'a str, Option<i64>>,
}

/// The parts of `ModelProto` and its `GraphProto` the check needs.
#[derive(Default)]
struct Model<'a> {
    /// `(domain, version)` of each imported operator set.
    opsets: Vec<(&'a str, i64)>,
    nodes: Vec<Node<'a>>,
    initializers: HashMap<&'a str, Tensor<'a>>,
    inputs: Vec<&'a str>,
    outputs: Vec<&'a str>,
}

fn text<'a>(value: Value<'a>, what: &str) -> Result<&'a str, LinearGraphError> {
    match value {
        Value::Bytes(b) => std::str::from_utf8(b)
            .map_err(|_| LinearGraphError::Malformed(format!("{what} is not UTF-8"))),
        _ => Err(wrong_type(what)),
    }
}

fn message<'a>(value: Value<'a>, what: &str) -> Result<&'a [u8], LinearGraphError> {
    match value {
        Value::Bytes(b) => Ok(b),
        _ => Err(wrong_type(what)),
    }
}

fn int(value: Value<'_>, what: &str) -> Result<i64, LinearGraphError> {
    match value {
        // int32/int64 fields are sign-extended to 64 bits on the wire.
        Value::Varint(v) => Ok(v as i64),
        _ => Err(wrong_type(what)),
    }
}

fn wrong_type(what: &str) -> LinearGraphError {
    LinearGraphError::Malformed(format!("{what} has the wrong wire type"))
}

/// Appends a repeated integer field, packed or not.
fn push_ints(value: Value<'_>, out: &mut Vec<i64>, what: &str) -> Result<(), LinearGraphError> {
    match value {
        Value::Bytes(packed) => {
            let mut reader = Reader::new(packed);
            while !reader.is_at_end() {
                out.push(reader.varint()? as i64);
            }
            Ok(())
        }
        other => {
            out.push(int(other, what)?);
            Ok(())
        }
    }
}

/// Appends a repeated float field, packed or not.
fn push_floats(value: Value<'_>, out: &mut Vec<f32>) -> Result<(), LinearGraphError> {
    match value {
        Value::Bytes(packed) if packed.len() % 4 == 0 => {
            out.extend(
                packed
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            Ok(())
        }
        Value::Fixed32(bits) => {
            out.push(f32::from_bits(bits));
            Ok(())
        }
        _ => Err(wrong_type("float_data")),
    }
}

fn parse_model(bytes: &[u8]) -> Result<Model<'_>, LinearGraphError> {
    let mut model = Model::default();
    let mut graph = None;
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.field()? {
        match number {
            7 => graph = Some(message(value, "graph")?),
            8 => model
                .opsets
                .push(parse_opset(message(value, "opset_import")?)?),
            _ => {}
        }
    }
    let graph =
        graph.ok_or_else(|| LinearGraphError::Malformed("the model has no graph".into()))?;
    parse_graph(graph, &mut model)?;
    Ok(model)
}

fn parse_opset(bytes: &[u8]) -> Result<(&str, i64), LinearGraphError> {
    let (mut domain, mut version) = ("", 0);
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.field()? {
        match number {
            1 => domain = text(value, "opset domain")?,
            2 => version = int(value, "opset version")?,
            _ => {}
        }
    }
    Ok((domain, version))
}

fn parse_graph<'a>(bytes: &'a [u8], model: &mut Model<'a>) -> Result<(), LinearGraphError> {
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.field()? {
        match number {
            1 => model.nodes.push(parse_node(message(value, "node")?)?),
            5 => {
                let (name, tensor) = parse_tensor(message(value, "initializer")?)?;
                model.initializers.insert(name, tensor);
            }
            11 => model
                .inputs
                .push(value_info_name(message(value, "input")?)?),
            12 => model
                .outputs
                .push(value_info_name(message(value, "output")?)?),
            15 => return Err(shape_error("the graph has sparse initializers")),
            _ => {}
        }
    }
    Ok(())
}

fn value_info_name(bytes: &[u8]) -> Result<&str, LinearGraphError> {
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.field()? {
        if number == 1 {
            return text(value, "value name");
        }
    }
    Ok("")
}

fn parse_node(bytes: &[u8]) -> Result<Node<'_>, LinearGraphError> {
    let mut node = Node {
        op_type: "",
        domain: "",
        inputs: Vec::new(),
        outputs: Vec::new(),
        attributes: HashMap::new(),
    };
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.field()? {
        match number {
            1 => node.inputs.push(text(value, "node input")?),
            2 => node.outputs.push(text(value, "node output")?),
            4 => node.op_type = text(value, "op_type")?,
            5 => {
                let (name, int) = parse_attribute(message(value, "attribute")?)?;
                node.attributes.insert(name, int);
            }
            7 => node.domain = text(value, "node domain")?,
            _ => {}
        }
    }
    Ok(node)
}

fn parse_attribute(bytes: &[u8]) -> Result<(&str, Option<i64>), LinearGraphError> {
    let (mut name, mut int_value, mut other) = ("", None, false);
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.field()? {
        match number {
            1 => name = text(value, "attribute name")?,
            3 => int_value = Some(int(value, "attribute i")?),
            // type (20) and ref_attr_name (21) say nothing about the value; any other field
            // (f, s, t, g, floats, ints, …) is a value that is not a single integer.
            20 | 21 | 13 => {}
            _ => other = true,
        }
    }
    Ok((name, if other { None } else { int_value }))
}

fn parse_tensor(bytes: &[u8]) -> Result<(&str, Tensor<'_>), LinearGraphError> {
    let mut name = "";
    let mut tensor = Tensor::default();
    let mut reader = Reader::new(bytes);
    while let Some((number, value)) = reader.field()? {
        match number {
            1 => push_ints(value, &mut tensor.dims, "dims")?,
            2 => tensor.data_type = int(value, "data_type")?,
            4 => push_floats(value, &mut tensor.floats)?,
            7 => push_ints(value, &mut tensor.int64s, "int64_data")?,
            8 => name = text(value, "tensor name")?,
            9 => tensor.raw = Some(message(value, "raw_data")?),
            13 => tensor.external = true,
            14 => tensor.external |= int(value, "data_location")? != 0,
            _ => {}
        }
    }
    Ok((name, tensor))
}

/// Checks the graph node by node and takes its initializers.
fn match_linear<const K: usize>(model: &Model<'_>) -> Result<LinearModel<K>, LinearGraphError> {
    check_opsets(model)?;
    if model.inputs != ["indices", "values"] || model.outputs != ["probabilities"] {
        return Err(shape_error(format!(
            "inputs {:?} and outputs {:?}, expected [\"indices\", \"values\"] and [\"probabilities\"]",
            model.inputs, model.outputs
        )));
    }
    let ops: Vec<&str> = model.nodes.iter().map(|n| n.op_type).collect();
    let expected = [
        "Gather",
        "Unsqueeze",
        "Mul",
        "ReduceSum",
        "Add",
        "Mul",
        "Add",
        "Sigmoid",
    ];
    if ops != expected {
        return Err(shape_error(format!(
            "operators {ops:?}, expected {expected:?}"
        )));
    }
    let graph = Graph { model };
    let [
        gather,
        unsqueeze,
        mul,
        reduce,
        add_bias,
        mul_scale,
        add_offset,
        sigmoid,
    ] = [0, 1, 2, 3, 4, 5, 6, 7].map(|i| &model.nodes[i]);

    let weights = graph.gather_weights(gather)?;
    graph.unsqueeze_last(unsqueeze)?;
    graph.expect_inputs(mul, &[output(gather)?, output(unsqueeze)?], true)?;
    graph.sum_over_features(reduce, output(mul)?)?;
    let bias = graph.vector_operand(add_bias, output(reduce)?)?;
    let scale = graph.vector_operand(mul_scale, output(add_bias)?)?;
    let offset = graph.vector_operand(add_offset, output(mul_scale)?)?;
    graph.expect_inputs(sigmoid, &[output(add_offset)?], false)?;
    if output(sigmoid)? != "probabilities" {
        return Err(shape_error("Sigmoid does not write \"probabilities\""));
    }
    Ok(LinearModel {
        weights,
        bias,
        scale,
        offset,
    })
}

fn check_opsets(model: &Model<'_>) -> Result<(), LinearGraphError> {
    let default = model
        .opsets
        .iter()
        .find(|(domain, _)| domain.is_empty() || *domain == "ai.onnx")
        .map(|&(_, version)| version);
    // From opset 13 ReduceSum and Unsqueeze take their axes as an input, as this graph does.
    if default.is_none_or(|v| v < 13) {
        return Err(shape_error(format!(
            "default operator set version {default:?}, expected 13 or later"
        )));
    }
    if let Some(node) = model
        .nodes
        .iter()
        .find(|n| !(n.domain.is_empty() || n.domain == "ai.onnx"))
    {
        return Err(shape_error(format!(
            "{} is from operator domain {:?}",
            node.op_type, node.domain
        )));
    }
    Ok(())
}

fn output<'a>(node: &Node<'a>) -> Result<&'a str, LinearGraphError> {
    match node.outputs.as_slice() {
        [one] => Ok(one),
        other => Err(shape_error(format!(
            "{} has outputs {other:?}, expected one",
            node.op_type
        ))),
    }
}

/// Lookups into one parsed graph.
struct Graph<'m, 'a> {
    model: &'m Model<'a>,
}

impl<'a> Graph<'_, 'a> {
    fn initializer(&self, name: &str, node: &Node<'_>) -> Result<&Tensor<'a>, LinearGraphError> {
        let tensor = self.model.initializers.get(name).ok_or_else(|| {
            shape_error(format!(
                "{} input {name:?} is not an initializer",
                node.op_type
            ))
        })?;
        if tensor.external {
            return Err(shape_error(format!(
                "initializer {name:?} keeps its data outside the file"
            )));
        }
        Ok(tensor)
    }

    fn expect_attributes(
        &self,
        node: &Node<'_>,
        allowed: &[(&str, i64)],
    ) -> Result<(), LinearGraphError> {
        for (name, value) in &node.attributes {
            if !allowed.iter().any(|(n, v)| n == name && *value == Some(*v)) {
                return Err(shape_error(format!(
                    "{} has attribute {name} = {value:?}, expected only {allowed:?}",
                    node.op_type
                )));
            }
        }
        Ok(())
    }

    fn expect_inputs(
        &self,
        node: &Node<'_>,
        inputs: &[&str],
        any_order: bool,
    ) -> Result<(), LinearGraphError> {
        let same = node.inputs == inputs
            || (any_order && inputs.len() == 2 && node.inputs == [inputs[1], inputs[0]]);
        if same && node.attributes.is_empty() {
            Ok(())
        } else {
            Err(shape_error(format!(
                "{} reads {:?}, expected {inputs:?} and no attributes",
                node.op_type, node.inputs
            )))
        }
    }

    /// `Gather(W, indices)` along axis 0, `W` float `[FEATURE_DIM, K]`.
    fn gather_weights<const K: usize>(
        &self,
        node: &Node<'_>,
    ) -> Result<Vec<[f32; K]>, LinearGraphError> {
        self.expect_attributes(node, &[("axis", 0)])?;
        let [weights, indices] = node.inputs.as_slice() else {
            return Err(shape_error(format!("Gather reads {:?}", node.inputs)));
        };
        if *indices != "indices" {
            return Err(shape_error(format!(
                "Gather indexes with {indices:?}, expected \"indices\""
            )));
        }
        let tensor = self.initializer(weights, node)?;
        if tensor.dims != [FEATURE_DIM as i64, K as i64] {
            return Err(shape_error(format!(
                "weights {weights:?} have dims {:?}, expected [{FEATURE_DIM}, {K}]",
                tensor.dims
            )));
        }
        let flat = tensor
            .f32_values()
            .map_err(|e| shape_error(format!("weights {weights:?} {e}")))?;
        if flat.len() != FEATURE_DIM * K {
            return Err(shape_error(format!(
                "weights {weights:?} hold {} values, expected {}",
                flat.len(),
                FEATURE_DIM * K
            )));
        }
        Ok(flat
            .chunks_exact(K)
            .map(|row| std::array::from_fn(|k| row[k]))
            .collect())
    }

    /// `Unsqueeze(values, [-1])` (or `[2]`, the same axis of a rank-2 input).
    fn unsqueeze_last(&self, node: &Node<'_>) -> Result<(), LinearGraphError> {
        match node.inputs.as_slice() {
            ["values", axes] if node.attributes.is_empty() => {
                let axes = self.int64_initializer(axes, node)?;
                if axes == [-1] || axes == [2] {
                    return Ok(());
                }
                Err(shape_error(format!(
                    "Unsqueeze axes {axes:?}, expected [-1]"
                )))
            }
            other => Err(shape_error(format!(
                "Unsqueeze reads {other:?}, expected \"values\" and an axes initializer"
            ))),
        }
    }

    /// `ReduceSum(weighted, [1])` with `keepdims = 0`.
    fn sum_over_features(&self, node: &Node<'_>, weighted: &str) -> Result<(), LinearGraphError> {
        // keepdims defaults to 1, which would keep a [batch, 1, 4] shape: it must be given as 0.
        if node.attributes.get("keepdims") != Some(&Some(0)) {
            return Err(shape_error("ReduceSum must have keepdims = 0"));
        }
        self.expect_attributes(node, &[("keepdims", 0), ("noop_with_empty_axes", 0)])?;
        match node.inputs.as_slice() {
            [input, axes] if *input == weighted => {
                let axes = self.int64_initializer(axes, node)?;
                if axes == [1] || axes == [-2] {
                    return Ok(());
                }
                Err(shape_error(format!(
                    "ReduceSum axes {axes:?}, expected [1]"
                )))
            }
            other => Err(shape_error(format!(
                "ReduceSum reads {other:?}, expected {weighted:?} and an axes initializer"
            ))),
        }
    }

    fn int64_initializer(&self, name: &str, node: &Node<'_>) -> Result<Vec<i64>, LinearGraphError> {
        self.initializer(name, node)?
            .i64_values()
            .map_err(|e| shape_error(format!("{} axes {name:?} {e}", node.op_type)))
    }

    /// A binary node combining `previous` with a float `[K]` initializer; returns the latter.
    fn vector_operand<const K: usize>(
        &self,
        node: &Node<'_>,
        previous: &str,
    ) -> Result<[f32; K], LinearGraphError> {
        let operand = match node.inputs.as_slice() {
            [a, b] if *a == previous => *b,
            [a, b] if *b == previous => *a,
            other => {
                return Err(shape_error(format!(
                    "{} reads {other:?}, expected {previous:?} and an initializer",
                    node.op_type
                )));
            }
        };
        if !node.attributes.is_empty() {
            return Err(shape_error(format!("{} has attributes", node.op_type)));
        }
        let tensor = self.initializer(operand, node)?;
        let values = tensor
            .f32_values()
            .map_err(|e| shape_error(format!("{} operand {operand:?} {e}", node.op_type)))?;
        match (
            tensor.dims.as_slice(),
            <[f32; K]>::try_from(values.as_slice()),
        ) {
            ([k], Ok(operand)) if *k == K as i64 => Ok(operand),
            _ => Err(shape_error(format!(
                "{} operand {operand:?} has dims {:?}, expected [{K}]",
                node.op_type, tensor.dims
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::protobuf::write::{bytes_field, varint_field};

    fn node(op: &str, inputs: &[&str], output: &str, int_attrs: &[(&str, i64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for input in inputs {
            bytes_field(1, input.as_bytes(), &mut out);
        }
        bytes_field(2, output.as_bytes(), &mut out);
        bytes_field(4, op.as_bytes(), &mut out);
        for (name, value) in int_attrs {
            let mut attr = Vec::new();
            bytes_field(1, name.as_bytes(), &mut attr);
            varint_field(3, *value as u64, &mut attr);
            varint_field(20, 2, &mut attr);
            bytes_field(5, &attr, &mut out);
        }
        out
    }

    fn float_tensor(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
        let mut out = Vec::new();
        for d in dims {
            varint_field(1, *d as u64, &mut out);
        }
        varint_field(2, FLOAT as u64, &mut out);
        bytes_field(8, name.as_bytes(), &mut out);
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes_field(9, &raw, &mut out);
        out
    }

    fn int_tensor(name: &str, values: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        varint_field(1, values.len() as u64, &mut out);
        varint_field(2, INT64 as u64, &mut out);
        bytes_field(8, name.as_bytes(), &mut out);
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes_field(9, &raw, &mut out);
        out
    }

    fn value_info(name: &str) -> Vec<u8> {
        let mut out = Vec::new();
        bytes_field(1, name.as_bytes(), &mut out);
        out
    }

    /// The exported graph, with `sigmoid_op` as the last operator.
    fn model_bytes(sigmoid_op: &str, keepdims: i64) -> Vec<u8> {
        let mut weights = vec![0.0_f32; FEATURE_DIM * OUTPUTS];
        weights
            .iter_mut()
            .enumerate()
            .for_each(|(i, w)| *w = (i % 7) as f32 * 0.25 - 0.5);
        let mut graph = Vec::new();
        let nodes = [
            node("Gather", &["W", "indices"], "gathered", &[("axis", 0)]),
            node("Unsqueeze", &["values", "axis_last"], "values_3d", &[]),
            node("Mul", &["gathered", "values_3d"], "weighted", &[]),
            node(
                "ReduceSum",
                &["weighted", "axis_length"],
                "raw",
                &[("keepdims", keepdims)],
            ),
            node("Add", &["raw", "bias"], "logits", &[]),
            node("Mul", &["logits", "platt_scale"], "scaled", &[]),
            node("Add", &["scaled", "platt_offset"], "calibrated", &[]),
            node(sigmoid_op, &["calibrated"], "probabilities", &[]),
        ];
        for n in &nodes {
            bytes_field(1, n, &mut graph);
        }
        let inits = [
            float_tensor("W", &[FEATURE_DIM as i64, OUTPUTS as i64], &weights),
            float_tensor("bias", &[4], &[0.1, -0.2, 0.3, -0.4]),
            float_tensor("platt_scale", &[4], &[1.0, 2.0, 0.5, 1.5]),
            float_tensor("platt_offset", &[4], &[0.0, -1.0, 1.0, 0.25]),
            int_tensor("axis_last", &[-1]),
            int_tensor("axis_length", &[1]),
        ];
        for t in &inits {
            bytes_field(5, t, &mut graph);
        }
        bytes_field(11, &value_info("indices"), &mut graph);
        bytes_field(11, &value_info("values"), &mut graph);
        bytes_field(12, &value_info("probabilities"), &mut graph);
        let mut opset = Vec::new();
        varint_field(2, 17, &mut opset);
        let mut model = Vec::new();
        varint_field(1, 8, &mut model);
        bytes_field(7, &graph, &mut model);
        bytes_field(8, &opset, &mut model);
        model
    }

    #[test]
    fn the_exported_shape_is_read_and_evaluated() -> Result<(), LinearGraphError> {
        let model = CategoryModel::from_onnx(&model_bytes("Sigmoid", 0))?;
        assert_eq!(model.bias, [0.1, -0.2, 0.3, -0.4]);
        assert_eq!(model.weights[1], [-0.5 + 4.0 * 0.25, 0.75, 1.0, -0.5]);
        // No features: sigmoid((0 + bias) * scale + offset).
        let scores = model.score("", &mut FeatureCounts::default());
        let expected = 1.0 / (1.0 + (-((0.1_f64) * 1.0 + 0.0)).exp());
        assert!((f64::from(scores.get(Category::Insult)) - expected).abs() < 1e-7);
        Ok(())
    }

    #[test]
    fn other_graphs_are_refused_with_the_reason() {
        let err = CategoryModel::from_onnx(&model_bytes("Softmax", 0)).err();
        assert!(
            matches!(&err, Some(LinearGraphError::Shape(r)) if r.contains("Softmax")),
            "{err:?}"
        );
        let err = CategoryModel::from_onnx(&model_bytes("Sigmoid", 1)).err();
        assert!(
            matches!(&err, Some(LinearGraphError::Shape(r)) if r.contains("keepdims")),
            "{err:?}"
        );
        let err = CategoryModel::from_onnx(b"not an onnx file").err();
        assert!(
            matches!(err, Some(LinearGraphError::Malformed(_))),
            "{err:?}"
        );
    }
}
