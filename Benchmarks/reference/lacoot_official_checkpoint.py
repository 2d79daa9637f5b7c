"""A checkpoint shaped like the ones the official LaCoOT code (github.com/VGCQ/LaCoOT) writes,
made from our own reproduction of its two CIFAR models, and the logits its evaluation gives.

- resnet18: its CIFAR ResNet-18 (models/ResNet.py): 3x3 stride-1 stem, BN, ReLU, 3x3 stride-2
  max-pool, BasicBlocks [2, 2, 2, 2], torchvision's key names; --width scales the base
  channels (theirs is 64). Its removal script removes layerX.1 (a ResNet with one block in
  that stage, loaded with strict=False): the same as replacing the block by the identity.
- mobilenetv2: its CIFAR MobileNetV2 (models/Mobilenetv2.py): torchvision's key names, stem
  and second stage at stride 1, width multiplier 1. Blocks removed here are whole
  skip-connected inverted-residual blocks (lacoot's unit).

Writes checkpoint.pt (torch.save of {'epoch', 'train_loss', 'train_acc', 'val_loss',
'val_acc', 'test_loss', 'test_acc', 'model_state_dict', 'optimizer_state_dict'}, as their
main.py), images.u8 (N x 3 x 32 x 32 uint8) and prints JSON: labels, and per removal the
logits and the accuracy of the model on the images normalized as their CIFAR-10 loader does
(ToTensor, then ImageNet's mean and std).

usage: python lacoot_official_checkpoint.py MODEL OUT_DIR [--width W] [--count N]
"""
import argparse
import json
import os

import torch
from torch import nn


def conv3x3(i, o, stride=1):
    return nn.Conv2d(i, o, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv1, self.bn1, self.relu1 = conv3x3(i, o, stride), nn.BatchNorm2d(o), nn.ReLU()
        self.conv2, self.bn2, self.relu2 = conv3x3(o, o), nn.BatchNorm2d(o), nn.ReLU()
        self.downsample = None
        if stride != 1 or i != o:
            self.downsample = nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + (x if self.downsample is None else self.downsample(x)))


class CifarResNet18(nn.Module):
    def __init__(self, width, classes=10):
        super().__init__()
        self.conv1, self.bn1, self.relu = nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        channels, stages = width, []
        for n, stride in enumerate([1, 2, 2, 2]):
            out = width * 2 ** n
            stages.append(nn.Sequential(BasicBlock(channels, out, stride), BasicBlock(out, out, 1)))
            channels = out
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(channels, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def conv_bn_relu6(i, o, kernel=3, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(i, o, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(o), nn.ReLU6())


class InvertedResidual(nn.Module):
    def __init__(self, i, o, stride, t):
        super().__init__()
        hidden = i * t
        self.skip = stride == 1 and i == o
        layers = [conv_bn_relu6(i, hidden, 1)] if t != 1 else []
        layers += [conv_bn_relu6(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, o, 1, bias=False), nn.BatchNorm2d(o)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.skip else self.conv(x)


class CifarMobileNetV2(nn.Module):
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, classes=10):
        super().__init__()
        features, channels = [conv_bn_relu6(3, 32, stride=1)], 32
        for t, c, n, s in self.SETTINGS:
            for k in range(n):
                features.append(InvertedResidual(channels, c, s if k == 0 else 1, t))
                channels = c
        features.append(conv_bn_relu6(channels, 1280, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean([2, 3]))


def perturb_batch_norms(model, generator):
    """Trained-looking BatchNorm statistics and affine parameters, so evaluation depends on them."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                m.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(n, generator=generator) * 0.1)


def removals(name, model):
    if name == "resnet18":
        blocks = [f"layer{s}.1" for s in (4, 3, 2, 1)]
        return [[]] + [[b] for b in blocks] + [blocks]
    skipped = [f"features.{i}" for i, m in enumerate(model.features) if isinstance(m, InvertedResidual) and m.skip]
    return [[], [skipped[0]], [skipped[-1]], skipped]


def removed(model, blocks):
    copy = type(model)(*([] if isinstance(model, CifarMobileNetV2) else [model.fc.in_features // 8]))
    copy.load_state_dict(model.state_dict())
    for block in blocks:
        stage, index = block.split(".")
        getattr(copy, stage)[int(index)] = nn.Identity()
    return copy.eval()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=["resnet18", "mobilenetv2"])
    parser.add_argument("out")
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--count", type=int, default=16)
    args = parser.parse_args()
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    model = CifarResNet18(args.width) if args.model == "resnet18" else CifarMobileNetV2()
    # one SGD step as their main.py takes them, so the optimizer state holds momentum buffers
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    loss = nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32, generator=generator)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    optimizer.step()
    perturb_batch_norms(model, generator)
    model.eval()
    torch.save({"epoch": 160, "train_loss": 0.25, "train_acc": 91.44666666666669, "val_loss": 0.4, "val_acc": 87.18,
                "test_loss": 0.41, "test_acc": 87.25, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict()}, os.path.join(args.out, "checkpoint.pt"))
    images = torch.randint(0, 256, (args.count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    open(os.path.join(args.out, "images.u8"), "wb").write(images.numpy().tobytes())
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = (images.float() / 255 - mean) / std
    with torch.no_grad():
        full = model(x)
        labels = full.argmax(1)
        labels[::2] = torch.randint(0, 10, labels[::2].shape, generator=generator)   # not all right
        result = {"labels": labels.tolist(), "runs": []}
        for blocks in removals(args.model, model):
            logits = removed(model, blocks)(x)
            accuracy = 100.0 * (logits.argmax(1) == labels).float().mean().item()
            result["runs"].append({"removed": blocks, "logits": logits.tolist(), "accuracy": accuracy})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
