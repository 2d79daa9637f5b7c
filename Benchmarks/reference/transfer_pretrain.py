"""The "bring your own model" experiment's PyTorch half (docs/RESULTS.md, "Transfer").

1. Trains torchvision's ResNet-18 (ImageNet stem, random init, 5 classes) on Fashion-MNIST
   classes 0–4 — grayscale repeated to 3 channels, zero-padded to 32×32, ImageNet
   normalization, SGD lr 0.05 momentum 0.9, batch 128 — and saves its state_dict with
   torch.save: OUT/pretrained.pth. Prints its test accuracy on classes 0–4.
2. Writes classes 5–9 as an image folder lacoot reads (OUT/fmnist-5-9/{train,test}/<class>/*.png),
   the task the imported model is fine-tuned on.

Usage: .venv-torch/bin/python Benchmarks/reference/transfer_pretrain.py OUT [--epochs 2]
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from torchvision_cpu import torchvision

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def idx(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def tensors(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images.copy()).float().div(255).unsqueeze(1).repeat(1, 3, 1, 1)
    return (F.pad(x, (2, 2, 2, 2)) - MEAN) / STD


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    train_x, train_y = idx(f"{args.data}/train-images-idx3-ubyte.gz"), idx(f"{args.data}/train-labels-idx1-ubyte.gz")
    test_x, test_y = idx(f"{args.data}/t10k-images-idx3-ubyte.gz"), idx(f"{args.data}/t10k-labels-idx1-ubyte.gz")

    first = train_y < 5
    x, y = tensors(train_x[first]), torch.from_numpy(train_y[first].astype(np.int64))
    model = torchvision.models.resnet18(num_classes=5)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y))
        for i in range(0, len(y) - 127, 128):
            batch = order[i:i + 128]
            opt.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
    model.eval()
    test_first = test_y < 5
    with torch.no_grad():
        predicted = model(tensors(test_x[test_first])).argmax(1).numpy()
    accuracy = float((predicted == test_y[test_first]).mean() * 100)
    torch.save(model.state_dict(), os.path.join(args.out, "pretrained.pth"))

    for split, images, labels in (("train", train_x, train_y), ("test", test_x, test_y)):
        counts = {}
        for image, label in zip(images, labels):
            if label < 5:
                continue
            folder = os.path.join(args.out, "fmnist-5-9", split, f"{label}-{CLASSES[label].replace('/', '-')}")
            os.makedirs(folder, exist_ok=True)
            n = counts.get(label, 0)
            counts[label] = n + 1
            Image.fromarray(image, mode="L").save(os.path.join(folder, f"{n:05d}.png"))
    print(json.dumps({"pretrained": os.path.join(args.out, "pretrained.pth"), "epochs": args.epochs,
                      "test_accuracy_classes_0_4": accuracy, "seconds": round(time.time() - start, 1),
                      "folder": os.path.join(args.out, "fmnist-5-9")}))


if __name__ == "__main__":
    main()
