"""The "bring your own model" experiment's PyTorch half (docs/RESULTS.md, "Transfer").

1. Trains a torchvision model (random init, 5 classes) on Fashion-MNIST classes 0–4 —
   grayscale repeated to 3 channels, zero-padded to 32×32, ImageNet normalization, batch 128
   (the last partial batch of an epoch is dropped) — and saves its state_dict with torch.save.
   Prints its test accuracy on classes 0–4.
2. Writes classes 5–9 as an image folder lacoot reads (OUT/fmnist-5-9/{train,test}/<class>/*.png),
   the task the imported model is fine-tuned on — only if OUT/fmnist-5-9 does not exist yet, so
   several models can share OUT.

Models (--model):
  resnet18     torchvision.models.resnet18(num_classes=5) (ImageNet stem)   -> OUT/pretrained.pth
  mobilenetv2  torchvision.models.mobilenet_v2(num_classes=5)               -> OUT/pretrained-mobilenetv2.pth
  vit          torchvision.models.VisionTransformer(image_size=32, patch_size=4, num_layers=8,
               num_heads=3, hidden_dim=192, mlp_dim=768, num_classes=5)     -> OUT/pretrained-vit.pth
  swin_t       torchvision.models.swin_t(num_classes=5)                     -> OUT/pretrained-swin_t.pth

Recipes:
  CNNs (resnet18, mobilenetv2): SGD lr --lr (0.05) momentum 0.9 weight decay 1e-4, constant lr
    (--schedule cosine for a per-step cosine to 0), plain cross-entropy. With no new flags,
    resnet18 trains exactly as this script always did (seed 0, all 30,000 images).
  Transformers (vit, swin_t): AdamW lr --lr (1e-3) weight decay 0.05, per-step cosine to 0,
    label smoothing 0.1, gradient clipping at norm 1.

Usage (.venv-torch/bin/python; torchvision through torchvision_cpu.py):
  .venv-torch/bin/python Benchmarks/reference/transfer_pretrain.py OUT [--epochs 2]      # resnet18
  .venv-torch/bin/python Benchmarks/reference/transfer_pretrain.py OUT --model mobilenetv2 --epochs 3 --lr 0.05
  .venv-torch/bin/python Benchmarks/reference/transfer_pretrain.py OUT --model vit --epochs 4 --train-limit 15000
  .venv-torch/bin/python Benchmarks/reference/transfer_pretrain.py OUT --model swin_t --epochs 4
Other flags: --train-limit N (first N training images of classes 0–4; default all),
  --test-limit N (first N test images of classes 0–4), --target-limit N (N images per class and
  split of classes 5–9, as OUT/fmnist-5-9-firstN: tiny runs; Tests/LacootCLITests/TransferPretrainTests),
  --lr, --schedule auto|constant|cosine, --seed (0), --threads (torch.set_num_threads; 2),
  --data (the Fashion-MNIST idx .gz folder).
"""
import argparse
import json
import math
import os
import shutil
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from idx_files import read_idx
from torchvision_cpu import torchvision

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
MODELS = ("resnet18", "mobilenetv2", "vit", "swin_t")
TRANSFORMERS = ("vit", "swin_t")
BATCH = 128


def build(name: str) -> torch.nn.Module:
    """The source model, random init, 5 classes (also used to check a saved state_dict loads back)."""
    models = torchvision.models
    if name == "resnet18":
        return models.resnet18(num_classes=5)
    if name == "mobilenetv2":
        return models.mobilenet_v2(num_classes=5)
    if name == "vit":
        return models.VisionTransformer(image_size=32, patch_size=4, num_layers=8, num_heads=3,
                                        hidden_dim=192, mlp_dim=768, num_classes=5)
    if name == "swin_t":
        return models.swin_t(num_classes=5)
    raise ValueError(f"unknown model {name!r}")


def checkpoint_name(model: str) -> str:
    return "pretrained.pth" if model == "resnet18" else f"pretrained-{model}.pth"


idx = read_idx   # digits_finetune.py imports it under this name


def tensors(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images.copy()).float().div(255).unsqueeze(1).repeat(1, 3, 1, 1)
    return (F.pad(x, (2, 2, 2, 2)) - MEAN) / STD


def write_folder(root: str, train_x, train_y, test_x, test_y, per_class=None) -> bool:
    """Classes 5–9 as OUT/fmnist-5-9 (at most `per_class` images per class and split when given);
    skipped if it exists (written to a temporary name, then renamed)."""
    if os.path.exists(root):
        return False
    partial = root + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    for split, images, labels in (("train", train_x, train_y), ("test", test_x, test_y)):
        counts = {}
        for image, label in zip(images, labels):
            if label < 5:
                continue
            folder = os.path.join(partial, split, f"{label}-{CLASSES[label].replace('/', '-')}")
            os.makedirs(folder, exist_ok=True)
            n = counts.get(label, 0)
            if per_class is not None and n >= per_class:
                continue
            counts[label] = n + 1
            Image.fromarray(image, mode="L").save(os.path.join(folder, f"{n:05d}.png"))
    os.rename(partial, root)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--model", choices=MODELS, default="resnet18")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-limit", type=int, default=None,
                        help="use only the first N training images of classes 0–4 (default: all 30,000)")
    parser.add_argument("--test-limit", type=int, default=None,
                        help="measure on the first N test images of classes 0–4 only (default: all 5,000)")
    parser.add_argument("--target-limit", type=int, default=None,
                        help="write at most N images per class and split of classes 5–9, as OUT/fmnist-5-9-firstN "
                             "(tiny runs, tests; default: all, as OUT/fmnist-5-9)")
    parser.add_argument("--lr", type=float, default=None, help="default 0.05 (SGD, CNNs) or 1e-3 (AdamW, transformers)")
    parser.add_argument("--schedule", choices=("auto", "constant", "cosine"), default="auto",
                        help="auto: constant for CNNs, cosine for transformers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    transformer = args.model in TRANSFORMERS
    lr = args.lr if args.lr is not None else (1e-3 if transformer else 0.05)
    schedule = args.schedule if args.schedule != "auto" else ("cosine" if transformer else "constant")
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = idx(f"{args.data}/train-images-idx3-ubyte.gz"), idx(f"{args.data}/train-labels-idx1-ubyte.gz")
    test_x, test_y = idx(f"{args.data}/t10k-images-idx3-ubyte.gz"), idx(f"{args.data}/t10k-labels-idx1-ubyte.gz")

    first = train_y < 5
    source_x, source_y = train_x[first], train_y[first]
    if args.train_limit is not None:
        source_x, source_y = source_x[:args.train_limit], source_y[:args.train_limit]
    x, y = tensors(source_x), torch.from_numpy(source_y.astype(np.int64))
    if len(y) < BATCH:
        parser.error(f"--train-limit {args.train_limit}: fewer than one batch of {BATCH}")
    for flag, value in (("--test-limit", args.test_limit), ("--target-limit", args.target_limit)):
        if value is not None and value < 1:
            parser.error(f"{flag} {value}: must be at least 1")
    model = build(args.model)
    parameters = sum(p.numel() for p in model.parameters())
    if transformer:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    steps_per_epoch = len(range(0, len(y) - BATCH + 1, BATCH))
    total_steps = args.epochs * steps_per_epoch
    scheduler = None
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps)))
    label_smoothing = 0.1 if transformer else 0.0
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y))
        for i in range(0, len(y) - BATCH + 1, BATCH):
            batch = order[i:i + BATCH]
            opt.zero_grad()
            if label_smoothing:
                loss = F.cross_entropy(model(x[batch]), y[batch], label_smoothing=label_smoothing)
            else:
                loss = F.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            if transformer:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if scheduler is not None:
                scheduler.step()
    train_seconds = time.time() - start
    model.eval()
    test_first = test_y < 5
    test_images, test_labels = test_x[test_first][:args.test_limit], test_y[test_first][:args.test_limit]
    test_inputs = tensors(test_images)
    with torch.no_grad():
        predicted = torch.cat([model(test_inputs[i:i + 500]).argmax(1) for i in range(0, len(test_inputs), 500)]).numpy()
    accuracy = float((predicted == test_labels).mean() * 100)
    pretrained = os.path.join(args.out, checkpoint_name(args.model))
    torch.save(model.state_dict(), pretrained)

    suffix = "" if args.target_limit is None else f"-first{args.target_limit}"
    folder = os.path.join(args.out, "fmnist-5-9" + suffix)
    written = write_folder(folder, train_x, train_y, test_x, test_y, args.target_limit)
    print(json.dumps({"model": args.model, "parameters": parameters, "pretrained": pretrained,
                      "epochs": args.epochs, "train_images": len(y), "lr": lr, "schedule": schedule,
                      "seed": args.seed, "threads": args.threads,
                      "test_images": len(test_labels), "test_accuracy_classes_0_4": accuracy, "seconds": round(time.time() - start, 1),
                      "train_seconds": round(train_seconds, 1),
                      "folder": folder, "folder_written": written}))


if __name__ == "__main__":
    main()
