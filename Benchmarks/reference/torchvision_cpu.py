"""torchvision's pure-Python models on PyTorch's CPU wheel.

PyPI has no CPU build of torchvision for torch 2.13 (only a CUDA one, whose C++ detection ops
cannot load here). The models need none of those ops, but torchvision's import registers fake
kernels for two of them, which fails when they do not exist. Declaring their schemas first lets
the import succeed; calling them would still fail, and nothing here does.

Usage: ``from torchvision_cpu import torchvision``.
"""
import torch

try:
    import torchvision  # noqa: F401  (a matching CPU build imports as is)
except RuntimeError:
    _schemas = torch.library.Library("torchvision", "DEF")
    _schemas.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _schemas.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import sys
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    import torchvision  # noqa: F401
