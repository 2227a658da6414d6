"""Builds the linear ONNX graph of the fast tier (k = 4 categories) and of the stance model
(k = 1) by hand and checks it in ONNX Runtime.

Graph (opset 17):
    gathered   = Gather(W[FEATURE_DIM, k], indices[batch, L])          -> [batch, L, k]
    weighted   = gathered * Unsqueeze(values[batch, L], -1)             -> [batch, L, k]
    logits     = ReduceSum(weighted, axis 1) + bias[k]                  -> [batch, k]
    calibrated = logits * platt_scale[k] + platt_offset[k]
    probabilities = Sigmoid(calibrated)                                 -> [batch, k]
Padding entries (index 0, value 0.0) add nothing.
"""

from __future__ import annotations

import numpy as np
import onnx
import scipy.sparse as sp
from onnx import TensorProto, helper, numpy_helper

from datasets import CATEGORIES
from featurize import FEATURE_DIM, FEATURE_SPEC_VERSION

OPSET = 17
IR_VERSION = 8


def build_model(weights: np.ndarray, bias: np.ndarray, scale: np.ndarray, offset: np.ndarray,
                doc: str, outputs: tuple[str, ...] = CATEGORIES,
                graph_name: str = "waypoint_fast") -> onnx.ModelProto:
    """The ONNX model for weights [FEATURE_DIM, k], bias [k] and Platt scale/offset [k], one
    column per name in `outputs` (the fast tier's categories by default)."""
    k = len(outputs)
    assert weights.shape == (FEATURE_DIM, k) and bias.shape == scale.shape == offset.shape == (k,)
    inits = [
        numpy_helper.from_array(weights.astype(np.float32), "W"),
        numpy_helper.from_array(bias.astype(np.float32), "bias"),
        numpy_helper.from_array(scale.astype(np.float32), "platt_scale"),
        numpy_helper.from_array(offset.astype(np.float32), "platt_offset"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "axis_last"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_length"),
    ]
    nodes = [
        helper.make_node("Gather", ["W", "indices"], ["gathered"], axis=0, name="gather_weights"),
        helper.make_node("Unsqueeze", ["values", "axis_last"], ["values_3d"], name="values_3d"),
        helper.make_node("Mul", ["gathered", "values_3d"], ["weighted"], name="weight_by_value"),
        helper.make_node("ReduceSum", ["weighted", "axis_length"], ["raw_logits"], keepdims=0,
                         name="sum_over_features"),
        helper.make_node("Add", ["raw_logits", "bias"], ["logits"], name="add_bias"),
        helper.make_node("Mul", ["logits", "platt_scale"], ["scaled"], name="platt_scale"),
        helper.make_node("Add", ["scaled", "platt_offset"], ["calibrated"], name="platt_offset"),
        helper.make_node("Sigmoid", ["calibrated"], ["probabilities"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        graph_name,
        inputs=[
            helper.make_tensor_value_info("indices", TensorProto.INT64, ["batch", "length"]),
            helper.make_tensor_value_info("values", TensorProto.FLOAT, ["batch", "length"]),
        ],
        outputs=[helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", k])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="waypoint-train",
        producer_version=FEATURE_SPEC_VERSION,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {
        "categories": ",".join(outputs),
        "feature_spec": FEATURE_SPEC_VERSION,
        "feature_dim": str(FEATURE_DIM),
    })
    onnx.checker.check_model(model, full_check=True)
    return model


def pad_batch(x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """CSR rows → padded `indices` int64 / `values` float32, as the SDK feeds the model."""
    lengths = np.diff(x.indptr)
    width = max(1, int(lengths.max()) if len(lengths) else 1)
    idx = np.zeros((x.shape[0], width), dtype=np.int64)
    val = np.zeros((x.shape[0], width), dtype=np.float32)
    for r in range(x.shape[0]):
        lo, hi = x.indptr[r], x.indptr[r + 1]
        idx[r, : hi - lo] = x.indices[lo:hi]
        val[r, : hi - lo] = x.data[lo:hi]
    return idx, val


def run_onnx(path: str, x: sp.csr_matrix, batch: int = 512, outputs: int = len(CATEGORIES)) -> np.ndarray:
    """Probabilities from ONNX Runtime for every row of `x` (`outputs` columns)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    out = []
    for s in range(0, x.shape[0], batch):
        idx, val = pad_batch(x[s : s + batch])
        out.append(sess.run(["probabilities"], {"indices": idx, "values": val})[0])
    return np.concatenate(out) if out else np.zeros((0, outputs), dtype=np.float32)


def check_against_reference(path: str, x: sp.csr_matrix, expected: np.ndarray) -> float:
    """Max |ONNX - reference| over the rows of `x`; raises when above 1e-5."""
    got = run_onnx(path, x, outputs=expected.shape[1])
    diff = float(np.max(np.abs(got - expected))) if len(got) else 0.0
    if diff > 1e-5:
        raise AssertionError(f"ONNX output differs from the sklearn pipeline by {diff}")
    return diff
