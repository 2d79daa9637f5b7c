"""MACs of torchvision's transformers as PyTorch counts them (torch.utils.flop_counter).

For each model, FlopCounterMode runs one eval forward of a batch of 1 and counts the
multiply-accumulates of every matrix product and convolution it dispatches — linears, the patch
convolution, the attention products (through scaled_dot_product_attention or matmul) — as FLOPs/2.
Nothing else (norms, softmax, adds) counts: the "aten" convention of ptflops that lacoot's cost
model uses. Prints one JSON object {name: macs}.

Usage: .venv-torch/bin/python Benchmarks/reference/count_macs.py
"""
import json

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from torchvision_cpu import torchvision


def macs(model: torch.nn.Module, size: int, channels: int = 3) -> int:
    model.eval()
    counter = FlopCounterMode(display=False)
    # autograd on: nn.MultiheadAttention takes its composite path; the math attention backend:
    # its two batched products are visible to the counter (the fused CPU kernel is not)
    with counter, sdpa_kernel(SDPBackend.MATH):
        model(torch.randn(1, channels, size, size))
    return counter.get_total_flops() // 2


def main() -> None:
    models = torchvision.models
    small_vit = dict(image_size=32, patch_size=4, num_layers=8, num_heads=3, hidden_dim=192, mlp_dim=768, num_classes=10)
    print(json.dumps({
        "swin_t_224": macs(models.swin_t(), 224),
        "swin_t_32": macs(models.swin_t(num_classes=10), 32),
        "swin_t_64": macs(models.swin_t(num_classes=200), 64),
        "vit_b_16_224": macs(models.vit_b_16(), 224),
        "vit_small_32": macs(models.VisionTransformer(**small_vit), 32),
    }))


if __name__ == "__main__":
    main()
