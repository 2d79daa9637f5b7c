"""Classifies Fashion-MNIST test images with an ONNX model lacoot exported, using nothing of
lacoot but the file: the input size, normalization and class names come from its metadata.

    python onnx_fashion_mnist.py MODEL.onnx [--limit N] [--data /usr/share/datasets/fashion-mnist]

The 28×28 images are zero-padded (centred) to the model's input size, scaled to [0, 1] and
normalized per channel, as lacoot prepares them. Prints one JSON line: accuracy (%), images,
and the first predictions by class name.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

from idx_files import read_idx


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--limit", type=int, default=10000)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    meta = {m.key: m.value for m in onnx.load(a.model, load_external_data=False).metadata_props}
    norm = json.loads(meta["lacoot.normalization"])
    classes = json.loads(meta["lacoot.class_names"])
    images = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"))[: a.limit]
    labels = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz"))[: a.limit].astype(np.int64)

    options = ort.SessionOptions()
    options.intra_op_num_threads = a.threads
    session = ort.InferenceSession(a.model, options, providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape  # [batch, C, H, W]
    channels, height, width = shape[1], shape[2], shape[3]
    n, h, w = images.shape
    top, left = (height - h) // 2, (width - w) // 2
    x = np.zeros((n, channels, height, width), dtype=np.float32)
    x[:, :, top:top + h, left:left + w] = images[:, None, :, :] / 255.0
    mean = np.array(norm["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.array(norm["std"], dtype=np.float32).reshape(1, -1, 1, 1)
    x = (x - mean) / std

    batch = shape[0] if isinstance(shape[0], int) else 250
    predictions = []
    for start in range(0, n, batch):
        chunk = x[start:start + batch]
        if len(chunk) < batch and isinstance(shape[0], int):
            chunk = np.concatenate([chunk, np.zeros((batch - len(chunk),) + chunk.shape[1:], np.float32)])
        (logits,) = session.run(None, {session.get_inputs()[0].name: chunk})
        predictions.append(logits.argmax(1)[: min(batch, n - start)])
    predicted = np.concatenate(predictions)
    print(json.dumps({
        "accuracy": float((predicted == labels).mean() * 100),
        "images": int(n),
        "first": [classes[i] if i < len(classes) else str(i) for i in predicted[:5]],
    }))


if __name__ == "__main__":
    sys.exit(main())
