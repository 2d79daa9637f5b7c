"""Checks an ONNX file lacoot exported: onnx.checker, then ONNX Runtime on given inputs
against lacoot's logits.

    python onnx_check.py MODEL.onnx INPUT.f32 SHAPE EXPECTED.f32 [--threads 2]

INPUT.f32 and EXPECTED.f32 are raw little-endian float32 (row-major); SHAPE is the input's
shape as "N,C,H,W". Prints one JSON line: the checker's verdict, ONNX Runtime's output shape,
max |ONNX Runtime - lacoot|, the argmax agreement, and the model's metadata.
"""
import argparse
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("input")
    p.add_argument("shape")
    p.add_argument("expected")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    model = onnx.load(a.model)
    onnx.checker.check_model(model, full_check=True)
    shape = [int(s) for s in a.shape.split(",")]
    x = np.fromfile(a.input, dtype="<f4").reshape(shape)
    expected = np.fromfile(a.expected, dtype="<f4")
    options = ort.SessionOptions()
    options.intra_op_num_threads = a.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(a.model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    (y,) = session.run(None, {name: x})
    expected = expected.reshape(y.shape)
    print(json.dumps({
        "checker": "ok",
        "output_shape": list(y.shape),
        "max_abs_diff": float(np.abs(y - expected).max()),
        "argmax_agree": float((y.argmax(1) == expected.argmax(1)).mean()),
        "input_name": name,
        "input_shape": [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim],
        "metadata": {p.key: p.value for p in model.metadata_props},
    }))


if __name__ == "__main__":
    sys.exit(main())
