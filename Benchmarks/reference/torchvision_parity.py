"""Write weights and reference logits for the Swift models to reproduce.

For each model, in eval mode with randomized BatchNorm statistics and affine parameters
(so that BN actually matters) and, for the ViT, random values in the parameters torchvision
initializes to constants (LayerNorm affine, class token, zero biases, the zero head), writes:
  OUTDIR/<name>.safetensors     the state dict (float32; integer buffers as int64); its
                                metadata lists the keys in state-dict order ("state_dict_keys")
                                and the parameters randomized after init ("randomized")
  OUTDIR/<name>_io.safetensors  "input" (fixed, seeded) and "logits" (the model's output)

Models:
  resnet18            torchvision.models.resnet18()      input 2x3x64x64, 1000 classes
  mobilenet_v2        torchvision.models.mobilenet_v2()  input 2x3x64x64, 1000 classes
  cifar_resnet18_w16  lacoot_ref.resnet18_cifar(width=16, in_channels=1, classes=10),
                      input 2x1x32x32
  vit_tiny            torchvision.models.VisionTransformer(image_size=32, patch_size=8,
                      num_layers=2, num_heads=2, hidden_dim=64, mlp_dim=128, num_classes=10),
                      input 2x3x32x32
  swin_attention_*    torchvision's ShiftedWindowAttention(16, window 4, shift 2, 2 heads) on
                      2x6x7x16 and 2x3x3x16 tokens ("logits" is its output)
  swin_tiny           torchvision.models.SwinTransformer(patch 2, embed 16, depths 2-2, heads
                      2-4, window 4, stochastic depth 0.2, 10 classes), input 2x3x36x36
                      (18×18 and 9×9 maps: padded windows, shifts, odd patch merging)

With --full-size instead: torchvision's swin_t and vit_b_16 themselves at 224×224 and 32×32
(swin_t_224, swin_t_32, vit_b_16_224, vit_b_16_32), whose io files also hold
"logits_removed": the logits with some blocks replaced by nn.Identity (listed in the metadata).

Random init only, nothing is downloaded. Prints one JSON line describing what it wrote.
Usage: .venv-ref/bin/python Benchmarks/reference/torchvision_parity.py [--full-size] OUTDIR
"""

from __future__ import annotations

import json
import os
import sys

import torch
import torch.nn as nn
import torchvision
from safetensors.torch import save_file
from torchvision.models.swin_transformer import ShiftedWindowAttention

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lacoot_ref  # noqa: E402


def randomize_batchnorm(model: nn.Module, gen: torch.Generator) -> list:
    """Give every BatchNorm non-trivial running stats, affine parameters and counters; return
    the names of the parameters changed."""
    names = []
    with torch.no_grad():
        for prefix, m in model.named_modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                names += [f"{prefix}.weight", f"{prefix}.bias"]
                c = m.num_features
                m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))   # in [0.5, 1.5)
                m.weight.copy_(1.0 + 0.1 * torch.randn(c, generator=gen))
                m.bias.copy_(0.05 * torch.randn(c, generator=gen))
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))
    return names


TRANSFORMER_ONES = ("ln_1.weight", "ln_2.weight", "ln.weight")
TRANSFORMER_ZEROS = ("ln_1.bias", "ln_2.bias", "ln.bias", "in_proj_bias", "out_proj.bias", "conv_proj.bias",
                     "class_token", "heads.head.weight", "heads.head.bias")


def randomize_transformer(model: nn.Module, gen: torch.Generator) -> list:
    """Give the parameters a ViT initializes to ones or zeros random values (so that each one
    matters in the logits); return their names."""
    names = []
    with torch.no_grad():
        for key, p in model.named_parameters():
            if key.endswith(TRANSFORMER_ONES):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif key.endswith(TRANSFORMER_ZEROS):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                continue
            names.append(key)
    return names


def randomize_norms_and_biases(model: nn.Module, gen: torch.Generator) -> list:
    """Give every LayerNorm's affine parameters and every Linear's bias (constants after a
    Swin's init) random values; return their names."""
    names = []
    with torch.no_grad():
        for prefix, m in model.named_modules():
            params = []
            if isinstance(m, nn.LayerNorm):
                params = [("weight", 1.0, m.weight), ("bias", 0.0, m.bias)]
            elif isinstance(m, nn.Linear) and m.bias is not None:
                params = [("bias", 0.0, m.bias)]
            for key, base, p in params:
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=gen))
                names.append(f"{prefix}.{key}")
    return names


def remove(model: nn.Module, paths) -> None:
    """Replace the modules at dotted ``paths`` with nn.Identity."""
    for path in paths:
        parent_path, _, leaf = path.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        setattr(parent, leaf, nn.Identity())


def export(name: str, model: nn.Module, input_shape, outdir: str, gen: torch.Generator,
           randomize=randomize_batchnorm, removed=()) -> dict:
    """Save the state dict and (input, logits) of ``model`` under ``outdir``; with ``removed``,
    also the logits once those blocks are nn.Identity ("logits_removed")."""
    randomized = randomize(model, gen)
    model.eval()
    x = torch.randn(*input_shape, generator=gen)
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().clone().contiguous()
        state[k] = v.to(torch.float32) if v.is_floating_point() else v.to(torch.int64)
    parameters = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        logits = model(x)
        outputs = {"input": x.contiguous(), "logits": logits.contiguous()}
        if removed:
            remove(model, removed)
            outputs["logits_removed"] = model(x).contiguous()
    weights_path = os.path.join(outdir, f"{name}.safetensors")
    io_path = os.path.join(outdir, f"{name}_io.safetensors")
    meta = {"format": "pt", "model": name, "torch": torch.__version__}
    save_file(state, weights_path, metadata=dict(meta, state_dict_keys=json.dumps(list(state)),
                                                 randomized=json.dumps(randomized)))
    save_file(outputs, io_path, metadata=dict(meta, removed=json.dumps(list(removed))))
    return {
        "name": name,
        "weights": weights_path,
        "io": io_path,
        "tensors": len(state),
        "parameters": parameters,
        "input_shape": list(x.shape),
        "logits_shape": list(logits.shape),
        "logits_abs_mean": float(logits.abs().mean()),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--full-size":
        return export_full_size(sys.argv[2])
    if len(sys.argv) != 2:
        sys.exit("usage: torchvision_parity.py [--full-size] OUTDIR")
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
        export("vit_tiny",
               torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                                    hidden_dim=64, mlp_dim=128, num_classes=10),
               (2, 3, 32, 32), outdir, gen, randomize=randomize_transformer),
        # Swin's window attention alone ("logits" = its output): a 6×7 map padded to 8×8 with
        # shifted 4×4 windows, and a 3×3 map inside one window (no shift).
        export("swin_attention_shifted", ShiftedWindowAttention(16, [4, 4], [2, 2], 2),
               (2, 6, 7, 16), outdir, gen, randomize=lambda m, g: []),
        export("swin_attention_one_window", ShiftedWindowAttention(16, [4, 4], [2, 2], 2),
               (2, 3, 3, 16), outdir, gen, randomize=lambda m, g: []),
        export("swin_tiny",
               torchvision.models.SwinTransformer(patch_size=[2, 2], embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                                                  window_size=[4, 4], stochastic_depth_prob=0.2, num_classes=10),
               (2, 3, 36, 36), outdir, gen, randomize=randomize_norms_and_biases),
    ]
    print(json.dumps({"outdir": outdir, "torch": torch.__version__,
                      "torchvision": torchvision.__version__, "models": written}))


def export_full_size(outdir: str) -> None:
    """torchvision's swin_t and vit_b_16 themselves (1000 classes), random init with norms,
    biases and constant tables randomized, at 224×224 and 32×32, each also with blocks removed."""
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    swin_removed = ["features.1.1", "features.5.3", "features.7.0"]
    vit_removed = ["encoder.layers.encoder_layer_3", "encoder.layers.encoder_layer_11"]
    written = []
    for size in (224, 32):
        written.append(export(f"swin_t_{size}", torchvision.models.swin_t(), (1, 3, size, size), outdir, gen,
                              randomize=randomize_norms_and_biases, removed=swin_removed))
        written.append(export(f"vit_b_16_{size}", torchvision.models.vit_b_16(image_size=size), (1, 3, size, size),
                              outdir, gen, randomize=randomize_transformer, removed=vit_removed))
    print(json.dumps({"outdir": outdir, "torch": torch.__version__, "models": written}))


if __name__ == "__main__":
    main()
