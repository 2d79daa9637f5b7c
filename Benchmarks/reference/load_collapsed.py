"""Loads a collapsed model written by lacoot into PyTorch, the way a user would.

Usage: load_collapsed.py MANIFEST.json INPUT.safetensors OUTPUT.safetensors

Builds the manifest's model — ResNet-18 (CIFAR stem) from lacoot_ref, torchvision's
ResNet-18/34/50 or MobileNetV2 (ImageNet stem), or torchvision's VisionTransformer or
SwinTransformer of the manifest's size (the patch convolution rebuilt for
other than 3 input channels) — replaces every block listed in ``removed_blocks`` with ``nn.Identity``, loads ``collapsed.safetensors`` STRICTLY (every
key present, none left over), runs the ``input`` tensor of INPUT in eval mode and writes
``logits`` to OUTPUT. Prints one JSON line.
"""
import json
import os
import sys

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lacoot_ref import remove_blocks, resnet18_cifar  # noqa: E402


def build(arch: dict) -> nn.Module:
    """The PyTorch model of a lacoot architecture record."""
    if arch["kind"] == "resNet18" and arch["stem"] == "cifar":
        return resnet18_cifar(num_classes=arch["classCount"], in_channels=arch["inputChannels"], width=arch["width"])
    if arch["kind"] == "visionTransformer":
        import torchvision

        t = arch["transformer"]
        model = torchvision.models.VisionTransformer(
            image_size=t["imageSize"], patch_size=t["patchSize"], num_layers=t["layers"], num_heads=t["heads"],
            hidden_dim=t["hiddenDim"], mlp_dim=t["mlpDim"], dropout=arch.get("dropout") or 0.0,
            num_classes=arch["classCount"])
        if arch["inputChannels"] != 3:
            model.conv_proj = nn.Conv2d(arch["inputChannels"], t["hiddenDim"], kernel_size=t["patchSize"],
                                        stride=t["patchSize"])
        return model
    if arch["kind"] == "swinTransformer":
        import torchvision

        t = arch["swin"]
        model = torchvision.models.SwinTransformer(
            patch_size=[t["patchSize"]] * 2, embed_dim=t["embedDim"], depths=t["depths"], num_heads=t["heads"],
            window_size=[t["windowSize"]] * 2, mlp_ratio=t["mlpRatio"], stochastic_depth_prob=t["stochasticDepth"],
            num_classes=arch["classCount"])
        if arch["inputChannels"] != 3:
            model.features[0][0] = nn.Conv2d(arch["inputChannels"], t["embedDim"], kernel_size=t["patchSize"],
                                             stride=t["patchSize"])
        return model
    if arch["stem"] == "imageNet" and arch["kind"] in ("resNet18", "resNet34", "resNet50", "mobileNetV2"):
        # torchvision's own models (the ImageNet stem is theirs), the first convolution rebuilt
        # for other than 3 input channels
        import torchvision

        name = {"resNet18": "resnet18", "resNet34": "resnet34", "resNet50": "resnet50", "mobileNetV2": "mobilenet_v2"}
        if arch["kind"] == "mobileNetV2":
            model = torchvision.models.mobilenet_v2(num_classes=arch["classCount"], width_mult=arch.get("widthMultiplier") or 1.0,
                                                    dropout=arch.get("dropout") or 0.2)
            if arch["inputChannels"] != 3:
                old = model.features[0][0]
                model.features[0][0] = nn.Conv2d(arch["inputChannels"], old.out_channels, 3, 2, 1, bias=False)
        else:
            model = getattr(torchvision.models, name[arch["kind"]])(num_classes=arch["classCount"])
            if arch["inputChannels"] != 3:
                model.conv1 = nn.Conv2d(arch["inputChannels"], 64, 7, 2, 3, bias=False)
        return model
    raise SystemExit(f"load_collapsed.py handles ResNet-18 with the CIFAR stem and Vision/Swin Transformers, "
                     f"not {arch['kind']}/{arch['stem']}")


def main() -> None:
    manifest_path, input_path, output_path = sys.argv[1:4]
    with open(manifest_path) as f:
        manifest = json.load(f)
    model = build(manifest["architecture"])
    remove_blocks(model, manifest["removed_blocks"])
    weights = load_file(os.path.join(os.path.dirname(manifest_path), manifest["weights"]))
    model.load_state_dict(weights, strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(load_file(input_path)["input"])
    save_file({"logits": logits.contiguous()}, output_path)
    print(json.dumps({"removed": manifest["removed_blocks"], "keys": len(weights), "logits": list(logits.shape)}))


if __name__ == "__main__":
    main()
