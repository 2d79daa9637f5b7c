"""PyTorch reference definitions for the lacoot project (our own code).

What is here:
  * ``resnet18_cifar``: ResNet-18 with the CIFAR stem (3x3 stride-1 conv, BN, ReLU,
    3x3 stride-2 max-pool, BasicBlock stages [2, 2, 2, 2]); parameter and buffer names
    are torchvision's (``conv1.weight``, ``layer2.0.downsample.0.weight``, ``fc.bias``...).
  * ``msw_reference``: the Max-Sliced Wasserstein distance for given directions, in torch
    (differentiable), the value POT computes with the same directions.
  * ``msw_pot`` / ``sw_pot``: POT's max-sliced / sliced distances with given directions.
  * ``BlockTaps`` + ``lacoot_regularizer`` + ``train_step``: the LaCoOT training step as
    the reference does it (CE + lambda * mean over layerX.1 of POT's MSW with 50 fresh
    random directions, p = 2), but flattening features with the batch's TRUE size.
  * ``make_optimizer``, ``remove_blocks``: SGD as in the paper, block collapse.

Run with the repo's ``.venv-ref/bin/python`` (see scripts/setup-python).
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

try:  # POT is optional for the model definitions, required for the LaCoOT step.
    import ot
    import ot.sliced
except ImportError:  # pragma: no cover - reported by the callers that need it
    ot = None

#: The blocks LaCoOT regularizes and may collapse in ResNet-18 (input shape == output shape).
RESNET18_BLOCKS: Tuple[str, ...] = ("layer1.1", "layer2.1", "layer3.1", "layer4.1")


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    """torchvision's BasicBlock: conv3x3-BN-ReLU-conv3x3-BN, plus identity or downsample."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: Optional[nn.Module] = None
        if stride != 1 or in_planes != planes:
            # 1x1 conv + BN, named downsample.0 / downsample.1 as in torchvision.
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetCIFAR(nn.Module):
    """ResNet with the CIFAR stem used by LaCoOT's reference (3x3 conv, stride 1, max-pool)."""

    def __init__(self, layers: Sequence[int] = (2, 2, 2, 2), num_classes: int = 10,
                 in_channels: int = 3, width: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        planes = [width, 2 * width, 4 * width, 8 * width]
        strides = [1, 2, 2, 2]
        in_planes = width
        for i, (n, p, s) in enumerate(zip(layers, planes, strides)):
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(in_planes, p, s if j == 0 else 1))
                in_planes = p
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_planes, num_classes)
        # torchvision's initialisation.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18_cifar(num_classes: int = 10, in_channels: int = 3, width: int = 64) -> ResNetCIFAR:
    """ResNet-18 with the CIFAR stem; ``width`` is the base channel count (64 = standard)."""
    return ResNetCIFAR((2, 2, 2, 2), num_classes=num_classes, in_channels=in_channels,
                       width=width)


def remove_blocks(model: nn.Module, names: Iterable[str]) -> nn.Module:
    """Replace the named blocks (e.g. ``"layer2.1"``) by ``nn.Identity`` in place."""
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        if isinstance(parent, nn.Sequential) and child.isdigit() and int(child) < len(parent):
            parent[int(child)] = nn.Identity()
        elif child in parent._modules:
            setattr(parent, child, nn.Identity())
        else:
            raise KeyError(f"no block named {name!r}")
    return model


# --------------------------------------------------------------------------------------
# Max-Sliced Wasserstein
# --------------------------------------------------------------------------------------

def msw_reference(X: torch.Tensor, Y: torch.Tensor, theta: torch.Tensor,
                  p: float = 2) -> torch.Tensor:
    """Max over the K columns of ``theta`` [d, K] of (mean_i |sort(X θ)_i - sort(Y θ)_i|^p)^(1/p).

    X and Y are [N, d] with the same N (uniform weights 1/N). Differentiable in X, Y
    (gradient flows through the sort along the winning direction only).
    """
    if X.shape != Y.shape:
        raise ValueError(f"X {tuple(X.shape)} and Y {tuple(Y.shape)} must have the same shape")
    xp = torch.sort(X @ theta, dim=0).values   # [N, K]
    yp = torch.sort(Y @ theta, dim=0).values
    wpp = (xp - yp).abs().pow(p).mean(dim=0)     # W_p^p per direction, [K]
    return wpp.max().pow(1.0 / p)


def sw_reference(X: torch.Tensor, Y: torch.Tensor, theta: torch.Tensor,
                 p: float = 2) -> torch.Tensor:
    """Plain sliced distance with the given directions: (mean_k W_p^p(θ_k))^(1/p)."""
    xp = torch.sort(X @ theta, dim=0).values
    yp = torch.sort(Y @ theta, dim=0).values
    return (xp - yp).abs().pow(p).mean(dim=0).mean().pow(1.0 / p)


def _require_pot() -> None:
    if ot is None:
        raise RuntimeError("POT is not installed; run scripts/setup-python and use .venv-ref/bin/python")


def msw_pot(X, Y, theta, p: float = 2) -> float:
    """POT's max_sliced_wasserstein_distance with the given directions (theta is [d, K])."""
    _require_pot()
    return float(ot.sliced.max_sliced_wasserstein_distance(X, Y, p=p, projections=theta))


def sw_pot(X, Y, theta, p: float = 2) -> float:
    """POT's sliced_wasserstein_distance with the given directions (theta is [d, K])."""
    _require_pot()
    return float(ot.sliced.sliced_wasserstein_distance(X, Y, p=p, projections=theta))


# --------------------------------------------------------------------------------------
# LaCoOT training step
# --------------------------------------------------------------------------------------

class BlockTaps:
    """Forward hooks that record each named block's input and output during a forward.

    For ResNet-18's ``layerX.1`` the input is the output of ``layerX.0``. Use as a context
    manager or call ``close()``; ``pairs()`` returns [(input, output), ...] of the last forward.
    """

    def __init__(self, model: nn.Module, names: Sequence[str] = RESNET18_BLOCKS):
        self.names = list(names)
        self.records: Dict[str, Tuple[torch.Tensor, torch.Tensor]] = {}
        self._handles = []
        for name in self.names:
            module = model.get_submodule(name)
            self._handles.append(module.register_forward_hook(self._hook(name)))

    def _hook(self, name: str):
        def hook(_module, inputs, output):
            self.records[name] = (inputs[0], output)
        return hook

    def pairs(self) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        return [self.records[n] for n in self.names if n in self.records]

    def clear(self) -> None:
        self.records.clear()

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> "BlockTaps":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def lacoot_regularizer(pairs: Sequence[Tuple[torch.Tensor, torch.Tensor]],
                       n_projections: int = 50, p: float = 2,
                       seed=None) -> torch.Tensor:
    """Mean over blocks of POT's MSW between flattened block input and output.

    Each sample is one point: features are flattened with the batch's TRUE size
    (``x.shape[0]``), not a configured batch size. Directions are drawn by POT
    (unseeded unless ``seed`` is given, as in the reference).
    """
    _require_pot()
    dists = []
    for x_in, x_out in pairs:
        n = x_in.shape[0]
        dists.append(ot.sliced.max_sliced_wasserstein_distance(
            x_in.reshape(n, -1), x_out.reshape(n, -1),
            n_projections=n_projections, p=p, seed=seed))
    return torch.stack(dists).mean()


def make_optimizer(model: nn.Module, lr: float = 0.1) -> torch.optim.SGD:
    """SGD as in the paper: momentum 0.9, weight decay 1e-4."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor, lam: float = 0.0, taps: Optional[BlockTaps] = None,
               n_projections: int = 50, bf16: bool = False) -> Dict[str, float]:
    """One training step: CE (+ lam * LaCoOT regularizer when lam > 0 and taps given).

    The model must be in training mode (features are taken in the ordinary forward).
    ``bf16``: the forward pass under ``torch.autocast("cpu", dtype=torch.bfloat16)``, the
    loss and the distance in float32 (features widened), as PyTorch's AMP recipe does.
    Returns the loss terms as floats.
    """
    if taps is not None:
        taps.clear()
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
    ce = F.cross_entropy(logits.float(), y)
    loss = ce
    reg_value = 0.0
    if lam > 0:
        if taps is None:
            raise ValueError("lam > 0 needs BlockTaps on the regularized blocks")
        pairs = [(a.float(), b.float()) for a, b in taps.pairs()] if bf16 else taps.pairs()
        reg = lacoot_regularizer(pairs, n_projections=n_projections)
        loss = ce + lam * reg
        reg_value = float(reg.detach())
    loss.backward()
    optimizer.step()
    if taps is not None:
        taps.clear()  # drop references to the feature maps
    return {"loss": float(loss.detach()), "ce": float(ce.detach()), "reg": reg_value}
