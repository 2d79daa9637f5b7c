"""Write weights and reference logits for the Swift models to reproduce.

For each model, in eval mode with randomized BatchNorm statistics and affine parameters
(so that BN actually matters), writes:
  OUTDIR/<name>.safetensors     the state dict (float32; num_batches_tracked as int64)
  OUTDIR/<name>_io.safetensors  "input" (fixed, seeded) and "logits" (the model's output)

Models:
  resnet18            torchvision.models.resnet18()      input 2x3x64x64, 1000 classes
  mobilenet_v2        torchvision.models.mobilenet_v2()  input 2x3x64x64, 1000 classes
  cifar_resnet18_w16  lacoot_ref.resnet18_cifar(width=16, in_channels=1, classes=10),
                      input 2x1x32x32

Random init only, nothing is downloaded. Prints one JSON line describing what it wrote.
Usage: .venv-ref/bin/python Benchmarks/reference/torchvision_parity.py OUTDIR
"""

from __future__ import annotations

import json
import os
import sys

import torch
import torch.nn as nn
import torchvision
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lacoot_ref  # noqa: E402


def randomize_batchnorm(model: nn.Module, gen: torch.Generator) -> None:
    """Give every BatchNorm non-trivial running stats, affine parameters and counters."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))   # in [0.5, 1.5)
                m.weight.copy_(1.0 + 0.1 * torch.randn(c, generator=gen))
                m.bias.copy_(0.05 * torch.randn(c, generator=gen))
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))


def export(name: str, model: nn.Module, input_shape, outdir: str, gen: torch.Generator) -> dict:
    """Save the state dict and (input, logits) of ``model`` under ``outdir``."""
    randomize_batchnorm(model, gen)
    model.eval()
    x = torch.randn(*input_shape, generator=gen)
    with torch.no_grad():
        logits = model(x)
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().clone().contiguous()
        state[k] = v.to(torch.int64) if k.endswith("num_batches_tracked") else v.to(torch.float32)
    weights_path = os.path.join(outdir, f"{name}.safetensors")
    io_path = os.path.join(outdir, f"{name}_io.safetensors")
    meta = {"format": "pt", "model": name, "torch": torch.__version__}
    save_file(state, weights_path, metadata=meta)
    save_file({"input": x.contiguous(), "logits": logits.contiguous()}, io_path, metadata=meta)
    return {
        "name": name,
        "weights": weights_path,
        "io": io_path,
        "tensors": len(state),
        "parameters": sum(p.numel() for p in model.parameters()),
        "input_shape": list(x.shape),
        "logits_shape": list(logits.shape),
        "logits_abs_mean": float(logits.abs().mean()),
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: torchvision_parity.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)                      # parameter init
    gen = torch.Generator().manual_seed(0)    # BN stats and inputs
    written = [
        export("resnet18", torchvision.models.resnet18(), (2, 3, 64, 64), outdir, gen),
        export("mobilenet_v2", torchvision.models.mobilenet_v2(), (2, 3, 64, 64), outdir, gen),
        export("cifar_resnet18_w16",
               lacoot_ref.resnet18_cifar(num_classes=10, in_channels=1, width=16),
               (2, 1, 32, 32), outdir, gen),
    ]
    print(json.dumps({"outdir": outdir, "torch": torch.__version__,
                      "torchvision": torchvision.__version__, "models": written}))


if __name__ == "__main__":
    main()
