"""Persistent PyTorch benchmark worker, driven by the Swift benchmark over pipes.

Protocol: one JSON object per line on stdin -> one JSON object per line on stdout
(flushed after each reply; nothing else is ever written to stdout; logs go to stderr).
A request that fails gets ``{"error": "<message>"}`` and the worker keeps serving.
End of input or ``{"cmd":"quit"}`` ends the worker (quit replies ``{"ok": true}`` first).

Commands (times are raw per-repetition seconds from time.perf_counter; the driver
computes medians):
  {"cmd":"info"}
      -> {"torch", "threads", "python", "pot" (or null), "numpy"}
  {"cmd":"engine","case":C,"reps":R[,"warmup":1]}
      C = "conv_fwd"     conv2d 3x3 64->64 pad 1, batch 128, 32x32, float32, no grad
          "conv_fwdbwd"  the same forward + backward of sum() wrt input and weight
          "matmul"       1024x1024 @ 1024x1024 float32
          "add1"         one-element tensor add; seconds are PER ADD (mean of 10k adds per rep)
      -> {"seconds": [R values]}
  {"cmd":"train_step","width":64,"batch":128,"lambda":0|5,"channels_last":false,
   "precision":"fp32"|"bf16","reps":R,"warmup":W}
      ResNet-18 CIFAR stem (lacoot_ref), 3 input channels, 10 classes, fixed random
      32x32 data, SGD(lr 0.1, momentum 0.9, wd 1e-4); lambda > 0 adds the LaCoOT term
      computed with POT (50 fresh directions per block per step, p = 2); bf16 runs the
      forward pass under torch.autocast("cpu", bfloat16), loss and distance in float32.
      -> {"seconds": [R values], "loss": last loss, "reg": last regularizer value}
  {"cmd":"latency","width":64,"batch":1|128,"removed":["layer1.1",...],"channels_last":false,
   "reps":R[,"warmup":2]}
      eval mode, torch.no_grad, removed blocks replaced by nn.Identity.
      -> {"seconds": [R values]}
  {"cmd":"profile_step", same fields as train_step}
      the step under torch.profiler (CPU), summed over reps steps after warmup ones
      -> {"ops": [{"name","calls","self_ms","total_ms"}...], "wall_seconds", "reps"}
  {"cmd":"transformer_step","model":"swin_t"|"vit","batch":B,"lambda":L,"reps":R,"warmup":W}
      torchvision's swin_t or the small ViT (patch 4, 8 layers, width 192, 3 heads, MLP
      768), 3x32x32 fixed random data, 10 classes; the transformer recipe: AdamW lr 1e-3,
      weight decay 0.05 on weights only (none on biases, norms, position tables, class
      token), label smoothing 0.1, gradients clipped to norm 1; lambda > 0 adds the LaCoOT
      term over every block (Swin blocks / encoder layers: input vs output) with POT.
      -> {"seconds": [R values], "loss": last loss}
  {"cmd":"transformer_latency","model":"swin_t"|"vit","batch":B,"removed":[...],"reps":R,
   "warmup":W}
      eval mode, no grad, removed blocks replaced by nn.Identity. -> {"seconds": [R values]}
  {"cmd":"msw","X":[[...]],"Y":[[...]],"theta":[[...]][,"p":2]}
      theta is [d][K] (one direction per column, POT's orientation); float64.
      -> {"pot": POT's max_sliced_wasserstein_distance, "torch": lacoot_ref.msw_reference}
  {"cmd":"rss"}  -> {"peak_rss_mb": ru_maxrss / 1024}
  {"cmd":"quit"} -> {"ok": true}, then exit 0

Start-up: .venv-ref/bin/python Benchmarks/reference/worker.py [--threads N]
(N defaults to the number of cores this process may run on).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from typing import Callable, List

# Keep stdout for replies only: anything printed by libraries goes to stderr.
_REPLY_STREAM = sys.stdout
sys.stdout = sys.stderr

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lacoot_ref  # noqa: E402
from worker_protocol import serve  # noqa: E402


def log(msg: str) -> None:
    print(f"[worker] {msg}", file=sys.stderr, flush=True)


def reply(obj: dict) -> None:
    _REPLY_STREAM.write(json.dumps(obj) + "\n")
    _REPLY_STREAM.flush()


def time_reps(fn: Callable[[], None], reps: int, warmup: int) -> List[float]:
    """Run ``fn`` ``warmup`` times untimed, then ``reps`` times, returning each duration."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _int(req: dict, key: str, default=None) -> int:
    v = req.get(key, default)
    if v is None:
        raise ValueError(f"missing {key!r}")
    if not isinstance(v, int) or v < 0:
        raise ValueError(f"{key!r} must be a non-negative integer, got {v!r}")
    return v


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------

def cmd_info(_req: dict) -> dict:
    pot = None
    if lacoot_ref.ot is not None:
        pot = lacoot_ref.ot.__version__
    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version(), "pot": pot, "numpy": np.__version__}


ADDS_PER_REP = 10_000


def cmd_engine(req: dict) -> dict:
    case = req.get("case")
    reps = _int(req, "reps")
    warmup = _int(req, "warmup", 1)
    gen = torch.Generator().manual_seed(0)
    if case in ("conv_fwd", "conv_fwdbwd"):
        x = torch.randn(128, 64, 32, 32, generator=gen)
        w = torch.randn(64, 64, 3, 3, generator=gen) * 0.05
        if case == "conv_fwd":
            def fn():
                with torch.no_grad():
                    F.conv2d(x, w, padding=1)
        else:
            x.requires_grad_(True)
            w.requires_grad_(True)

            def fn():
                x.grad = None
                w.grad = None
                F.conv2d(x, w, padding=1).sum().backward()
    elif case == "matmul":
        a = torch.randn(1024, 1024, generator=gen)
        b = torch.randn(1024, 1024, generator=gen)

        def fn():
            torch.matmul(a, b)
    elif case == "add1":
        a = torch.randn(1, generator=gen)
        b = torch.randn(1, generator=gen)

        def fn():
            for _ in range(ADDS_PER_REP):
                a + b
        secs = time_reps(fn, reps, warmup)
        return {"seconds": [s / ADDS_PER_REP for s in secs]}
    else:
        raise ValueError(f"unknown engine case {case!r} (conv_fwd, conv_fwdbwd, matmul, add1)")
    return {"seconds": time_reps(fn, reps, warmup)}


def _training_step(req: dict):
    """The LaCoOT training step a train_step / profile_step request describes: ResNet-18 CIFAR
    stem, fixed random data, SGD, taps on the blocks when lambda > 0. Returns ``(step, close)``:
    ``step()`` runs one step and returns its loss terms, ``close()`` removes the taps."""
    width = _int(req, "width", 64)
    batch = _int(req, "batch", 128)
    lam = float(req.get("lambda", 0))
    channels_last = bool(req.get("channels_last", False))
    precision = req.get("precision", "fp32")
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be fp32 or bf16, got {precision!r}")
    torch.manual_seed(0)
    model = lacoot_ref.resnet18_cifar(num_classes=10, in_channels=3, width=width)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    model.train()
    opt = lacoot_ref.make_optimizer(model, lr=0.1)
    taps = lacoot_ref.BlockTaps(model) if lam > 0 else None

    def step() -> dict:
        return lacoot_ref.train_step(model, opt, x, y, lam=lam, taps=taps, bf16=precision == "bf16")

    def close() -> None:
        if taps is not None:
            taps.close()
    return step, close


def cmd_train_step(req: dict) -> dict:
    reps = _int(req, "reps")
    warmup = _int(req, "warmup", 2)
    step, close = _training_step(req)
    last = {}
    try:
        secs = time_reps(lambda: last.update(step()), reps, warmup)
    finally:
        close()
    return {"seconds": secs, "loss": last.get("loss"), "reg": last.get("reg")}


def cmd_profile_step(req: dict) -> dict:
    """The train_step above under torch.profiler (CPU): per-op self and total times summed
    over ``reps`` steps after ``warmup`` unprofiled ones."""
    reps = _int(req, "reps")
    warmup = _int(req, "warmup", 2)
    step, close = _training_step(req)
    try:
        for _ in range(warmup):
            step()
        start = time.perf_counter()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(reps):
                step()
        wall = time.perf_counter() - start
    finally:
        close()
    ops = [{"name": e.key, "calls": e.count, "self_ms": e.self_cpu_time_total / 1e3,
            "total_ms": e.cpu_time_total / 1e3} for e in prof.key_averages()]
    return {"ops": ops, "wall_seconds": wall, "reps": reps}


def cmd_latency(req: dict) -> dict:
    width = _int(req, "width", 64)
    batch = _int(req, "batch", 1)
    removed = req.get("removed", []) or []
    channels_last = bool(req.get("channels_last", False))
    reps = _int(req, "reps")
    warmup = _int(req, "warmup", 2)
    torch.manual_seed(0)
    model = lacoot_ref.resnet18_cifar(num_classes=10, in_channels=3, width=width)
    lacoot_ref.remove_blocks(model, removed)
    model.eval()
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def fn():
        with torch.no_grad():
            model(x)
    return {"seconds": time_reps(fn, reps, warmup)}


SMALL_VIT = dict(image_size=32, patch_size=4, num_layers=8, num_heads=3, hidden_dim=192, mlp_dim=768)
NO_DECAY_SUFFIXES = ("pos_embedding", "class_token", "relative_position_bias_table")


def _transformer(req: dict):
    """torchvision's swin_t or the small ViT (10 classes) and the names of its blocks."""
    from torchvision_cpu import torchvision

    name = req.get("model")
    torch.manual_seed(0)
    if name == "swin_t":
        model = torchvision.models.swin_t(num_classes=10)
        blocks = [f"features.{s}.{i}" for s, depth in ((1, 2), (3, 2), (5, 6), (7, 2)) for i in range(depth)]
    elif name == "vit":
        model = torchvision.models.VisionTransformer(num_classes=10, **SMALL_VIT)
        blocks = [f"encoder.layers.encoder_layer_{i}" for i in range(SMALL_VIT["num_layers"])]
    else:
        raise ValueError(f"model must be swin_t or vit, got {name!r}")
    return model, blocks


def cmd_transformer_step(req: dict) -> dict:
    batch = _int(req, "batch", 128)
    lam = float(req.get("lambda", 0))
    reps = _int(req, "reps")
    warmup = _int(req, "warmup", 1)
    model, blocks = _transformer(req)
    model.train()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and not n.endswith(NO_DECAY_SUFFIXES)]
    rest = [p for n, p in model.named_parameters() if not (p.ndim > 1 and not n.endswith(NO_DECAY_SUFFIXES))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}], lr=1e-3)
    taps = lacoot_ref.BlockTaps(model, blocks) if lam > 0 else None
    last = {}

    def step():
        if taps is not None:
            taps.clear()
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=0.1)
        if taps is not None:
            loss = loss + lam * lacoot_ref.lacoot_regularizer(taps.pairs())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        last["loss"] = float(loss.detach())
    try:
        secs = time_reps(step, reps, warmup)
    finally:
        if taps is not None:
            taps.close()
    return {"seconds": secs, "loss": last.get("loss")}


def cmd_transformer_latency(req: dict) -> dict:
    batch = _int(req, "batch", 1)
    reps = _int(req, "reps")
    warmup = _int(req, "warmup", 2)
    model, _ = _transformer(req)
    lacoot_ref.remove_blocks(model, req.get("removed", []) or [])
    model.eval()
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(1))

    def fn():
        with torch.no_grad():
            model(x)
    return {"seconds": time_reps(fn, reps, warmup)}


def cmd_msw(req: dict) -> dict:
    p = float(req.get("p", 2))
    X = np.asarray(req["X"], dtype=np.float64)
    Y = np.asarray(req["Y"], dtype=np.float64)
    theta = np.asarray(req["theta"], dtype=np.float64)
    if X.ndim != 2 or Y.shape != X.shape or theta.ndim != 2 or theta.shape[0] != X.shape[1]:
        raise ValueError(f"need X, Y [N][d] and theta [d][K]; got {X.shape}, {Y.shape}, {theta.shape}")
    ours = lacoot_ref.msw_reference(torch.from_numpy(X), torch.from_numpy(Y),
                                    torch.from_numpy(theta), p=p)
    pot = lacoot_ref.msw_pot(X, Y, theta, p=p) if lacoot_ref.ot is not None else None
    return {"pot": pot, "torch": float(ours)}


def cmd_rss(_req: dict) -> dict:
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def cmd_write_pngs(req: dict) -> dict:
    """Writes the first `count` images of a gzipped IDX file as grayscale PNGs into `folder`."""
    from PIL import Image
    from idx_files import read_idx
    images = read_idx(req["idx"])
    count = _int(req, "count")
    os.makedirs(req["folder"], exist_ok=True)
    files = []
    for i in range(min(count, len(images))):
        path = os.path.join(req["folder"], f"{i:05d}.png")
        Image.fromarray(images[i]).save(path)
        files.append(path)
    return {"files": files}


def cmd_predict(req: dict) -> dict:
    """`lacoot predict`'s work the torchvision way: a Dataset opening each file with PIL,
    Pad + ToTensor + Normalize, a DataLoader (batch `batch`, no worker processes), the CIFAR
    ResNet-18 at `width`, softmax and top-5. One rep = every file once."""
    from PIL import Image
    from torchvision_cpu import torchvision  # noqa: F401
    from torchvision import transforms
    files = req["files"]
    batch = _int(req, "batch", 64)
    side = _int(req, "side", 32)
    torch.manual_seed(0)
    model = lacoot_ref.resnet18_cifar(num_classes=10, in_channels=1, width=_int(req, "width", 64)).eval()
    prepare = transforms.Compose([transforms.CenterCrop(side), transforms.ToTensor(),
                                  transforms.Normalize(req["mean"], req["std"])])

    class Files(torch.utils.data.Dataset):
        def __len__(self):
            return len(files)

        def __getitem__(self, i):
            return prepare(Image.open(files[i]).convert("L"))

    def fn():
        loader = torch.utils.data.DataLoader(Files(), batch_size=batch, num_workers=0)
        with torch.no_grad():
            for x in loader:
                torch.softmax(model(x), dim=1).topk(5, dim=1)
    return {"seconds": time_reps(fn, _int(req, "reps"), _int(req, "warmup", 1))}


COMMANDS = {
    "info": cmd_info,
    "engine": cmd_engine,
    "train_step": cmd_train_step,
    "latency": cmd_latency,
    "profile_step": cmd_profile_step,
    "msw": cmd_msw,
    "transformer_step": cmd_transformer_step,
    "transformer_latency": cmd_transformer_latency,
    "rss": cmd_rss,
    "write_pngs": cmd_write_pngs,
    "predict": cmd_predict,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="torch intra-op threads (default: cores available)")
    args = ap.parse_args()
    if args.threads < 1:
        ap.error("--threads must be >= 1")
    torch.set_num_threads(args.threads)
    log(f"ready: torch {torch.__version__}, {torch.get_num_threads()} threads")
    return serve(COMMANDS, reply, log)


if __name__ == "__main__":
    sys.exit(main())
