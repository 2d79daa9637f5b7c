"""Fine-tuning a pretrained ResNet-18 on handwritten digits: the plain PyTorch side of the
augmentation experiment (docs/RESULTS.md, "Augmentation that fits the data").

MNIST is not installable on these machines (no Debian package; PyPI's MNIST packages download
it at run time). The digits used instead are the UCI handwritten digits that scikit-learn
ships (`sklearn/datasets/data/digits.csv.gz`, 1,797 images of 8×8, 16 grey levels, in
Debian's python3-sklearn): real handwriting, where a mirrored 2, 3, 5, 7 or 9 is not that
digit either.

    digits_finetune.py make DIGITS_CSV_GZ OUT
        upsamples every digit to 28×28 (bilinear, levels 0–16 → 0–255) and writes OUT as an MNIST
        folder lacoot reads with --dataset mnist (train: the first 1,400 digits, test: the
        other 397), gzipped IDX files under MNIST's names.
    digits_finetune.py finetune PRETRAINED.pth OUT [--epochs 6] [--lr 0.01]
        the plain fine-tune: torchvision's ResNet-18 with the pretrained weights, a new 10-class
        head, grayscale repeated to 3 channels, zero-padded to 32×32, ImageNet normalization,
        SGD lr 0.01 momentum 0.9 weight decay 1e-4, batch 128, cosine over the epochs, no
        augmentation, on OUT's training digits; prints the test accuracy as JSON.

Usage: .venv-torch/bin/python Benchmarks/reference/digits_finetune.py make … / finetune …
"""
import argparse
import gzip
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

from torchvision_cpu import torchvision
from transfer_pretrain import idx as read_idx, tensors   # the same IDX reader and input transform as the source model's

TRAIN_COUNT = 1400


def write_idx(path: str, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make(csv_gz: str, out: str) -> None:
    rows = np.loadtxt(gzip.open(csv_gz, "rt"), delimiter=",", dtype=np.float32)
    pixels, labels = rows[:, :64].reshape(-1, 1, 8, 8), rows[:, 64].astype(np.uint8)
    big = F.interpolate(torch.from_numpy(pixels) * (255 / 16), size=(28, 28), mode="bilinear", align_corners=False)
    images = big.clamp(0, 255).round().squeeze(1).numpy().astype(np.uint8)
    os.makedirs(out, exist_ok=True)
    for prefix, part in (("train", slice(0, TRAIN_COUNT)), ("t10k", slice(TRAIN_COUNT, None))):
        write_idx(os.path.join(out, f"{prefix}-images-idx3-ubyte.gz"), images[part])
        write_idx(os.path.join(out, f"{prefix}-labels-idx1-ubyte.gz"), labels[part])
    print(json.dumps({"folder": out, "train": TRAIN_COUNT, "test": int(len(labels) - TRAIN_COUNT)}))


def finetune(pretrained: str, out: str, epochs: int, lr: float, seed: int) -> None:
    torch.manual_seed(seed)
    x = tensors(read_idx(os.path.join(out, "train-images-idx3-ubyte.gz")))
    y = torch.from_numpy(read_idx(os.path.join(out, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    tx = tensors(read_idx(os.path.join(out, "t10k-images-idx3-ubyte.gz")))
    ty = torch.from_numpy(read_idx(os.path.join(out, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    state = torch.load(pretrained, map_location="cpu")
    model = torchvision.models.resnet18(num_classes=state["fc.weight"].shape[0])
    model.load_state_dict(state)
    model.fc = torch.nn.Linear(model.fc.in_features, 10)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    steps = epochs * ((len(y) + 127) // 128)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y))
        for i in range(0, len(y), 128):
            batch = order[i:i + 128]
            opt.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
            schedule.step()
    model.eval()
    with torch.no_grad():
        accuracy = float((model(tx).argmax(1) == ty).float().mean() * 100)
    print(json.dumps({"test_accuracy": round(accuracy, 2), "epochs": epochs, "lr": lr, "seed": seed,
                      "train": len(y), "test": len(ty)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("csv_gz")
    m.add_argument("out")
    f = sub.add_parser("finetune")
    f.add_argument("pretrained")
    f.add_argument("out")
    f.add_argument("--epochs", type=int, default=6)
    f.add_argument("--lr", type=float, default=0.01)
    f.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.command == "make":
        make(args.csv_gz, args.out)
    else:
        finetune(args.pretrained, args.out, args.epochs, args.lr, args.seed)


if __name__ == "__main__":
    main()
