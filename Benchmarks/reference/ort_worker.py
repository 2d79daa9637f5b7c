"""ONNX Runtime side of `scripts/bench export`: a persistent process driven over pipes, one
JSON object per line each way (the protocol of worker.py).

Commands:
  {"cmd": "info"} -> {"onnxruntime", "threads", "python", "numpy"}
  {"cmd": "latency", "model": PATH, "batch": N, "shape": [C, H, W], "reps": R, "warmup": W}
      -> {"seconds": [...]}
  {"cmd": "run", "model": PATH, "input": F32 FILE, "shape": [N, C, H, W], "output": F32 FILE}
      -> {"shape": [...]} (the logits written as raw float32)
  {"cmd": "quit"}
Sessions are cached per model; intra-op threads as --threads, one inter-op thread.
"""
import argparse
import json
import os
import platform
import sys
import time

_REPLY_STREAM = sys.stdout
sys.stdout = sys.stderr

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

from worker_protocol import serve  # noqa: E402

SESSIONS = {}
THREADS = 1


def reply(obj):
    _REPLY_STREAM.write(json.dumps(obj) + "\n")
    _REPLY_STREAM.flush()


def session(path):
    if path not in SESSIONS:
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        SESSIONS[path] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return SESSIONS[path]


def cmd_info(_req):
    return {"onnxruntime": ort.__version__, "threads": THREADS, "python": platform.python_version(),
            "numpy": np.__version__}


def cmd_latency(req):
    s = session(req["model"])
    x = np.random.default_rng(0).standard_normal([req["batch"]] + list(req["shape"])).astype(np.float32)
    feed = {s.get_inputs()[0].name: x}
    for _ in range(req["warmup"]):
        s.run(None, feed)
    out = []
    for _ in range(req["reps"]):
        t0 = time.perf_counter()
        s.run(None, feed)
        out.append(time.perf_counter() - t0)
    return {"seconds": out}


def cmd_run(req):
    s = session(req["model"])
    x = np.fromfile(req["input"], dtype="<f4").reshape(req["shape"])
    (y,) = s.run(None, {s.get_inputs()[0].name: x})
    y.astype("<f4").tofile(req["output"])
    return {"shape": list(y.shape)}


COMMANDS = {"info": cmd_info, "latency": cmd_latency, "run": cmd_run}


def main():
    global THREADS
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    THREADS = ap.parse_args().threads
    return serve(COMMANDS, reply, lambda text: print(text, file=sys.stderr, flush=True))


if __name__ == "__main__":
    sys.exit(main())
