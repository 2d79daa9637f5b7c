"""Writes the small seed corpora of the fuzz harnesses into Fuzz/corpus/<harness>/.

Standard library only, except jpeg and pth, which use the engine's Python (.venv-torch: Pillow
and torch) when it is there. Run by scripts/fuzz when a corpus folder is missing.
"""
import gzip, io, json, os, struct, sys, zlib

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(harness, name, data):
    os.makedirs(os.path.join(root, harness), exist_ok=True)
    with open(os.path.join(root, harness, name), "wb") as f:
        f.write(data)


def idx(dims, data, code=8):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + blob


def png(width, height, pixel):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(pixel) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def mat(name, values, compressed):
    def element(kind, body):
        pad = (8 - len(body) % 8) % 8
        return struct.pack("<II", kind, len(body)) + body + b"\x00" * pad
    flags = element(6, struct.pack("<II", 6, 0))                        # miUINT32: double class
    dims = element(5, struct.pack("<ii", 1, len(values)))              # miINT32: 1×n
    label = element(1, name.encode())                                  # miINT8: the name
    real = element(9, b"".join(struct.pack("<d", v) for v in values))  # miDOUBLE
    matrix = element(14, flags + dims + label + real)                  # miMATRIX
    if compressed:
        matrix = element(15, zlib.compress(matrix))                    # miCOMPRESSED
    text = b"MATLAB 5.0 MAT-file, lacoot fuzz seed".ljust(116, b" ")
    return text + b"\x00" * 8 + struct.pack("<H", 0x0100) + b"IM" + matrix


f32 = lambda *xs: b"".join(struct.pack("<f", x) for x in xs)
put("idx", "images.idx", idx([2, 3, 3], range(18)))
put("idx", "labels.idx", idx([4], [0, 1, 2, 3]))
put("idx-gz", "images.idx.gz", gzip.compress(idx([2, 4, 4], range(32))))
put("cifar", "batch.bin", bytes([3]) + bytes(range(256)) * 12)
put("safetensors", "small.safetensors",
    safetensors({"w": ("F32", [2, 2], f32(1, 2, 3, 4)), "b": ("I64", [1], struct.pack("<q", 7))}, {"note": "seed"}))
config = json.dumps({"training": {"epochs": 2}})
put("checkpoint", "checkpoint.safetensors",
    safetensors({"model.fc.weight": ("F32", [2, 2], f32(1, 0, 0, 1)), "model.fc.bias": ("F32", [2], f32(0, 0)),
                 "optimizer.momentum_buffer.fc.weight": ("F32", [2, 2], f32(0, 0, 0, 0)),
                 "generator.regularizer": ("U8", [4], bytes(4))},
                {"format": "lacoot.training-checkpoint", "version": "1", "epoch": "1", "configuration": config,
                 "optimizer.kind": "SGD", "optimizer.scalars": json.dumps({"lr": 0.1, "momentum": 0.9}),
                 "partial_epoch": json.dumps({"steps": 1, "samples": 32, "correct": 3})}))
put("manifest", "resnet18.json", json.dumps({
    "architecture": {"classCount": 10, "inputChannels": 1, "kind": "resNet18", "shortcut": "projection", "stem": "cifar",
                     "width": 16},
    "class_count": 10, "class_names": ["a", "b"], "format": "lacoot.model", "input_shape": [1, 32, 32], "macs": 4080896,
    "normalization": {"mean": [0.286], "std": [0.353]}, "parameters": 308538,
    "removed_blocks": ["layer1.1", "layer4.1"], "version": 1}, indent=1).encode())
put("manifest", "swin.json", json.dumps({
    "architecture": {"classCount": 5, "inputChannels": 3, "kind": "swinTransformer", "stem": "imageNet",
                     "swin": {"patchSize": 4, "embedDim": 96, "depths": [2, 2, 6, 2], "heads": [3, 6, 12, 24],
                              "windowSize": 7, "mlpRatio": 4, "stochasticDepth": 0.2}},
    "format": "lacoot.model", "removed_blocks": ["features.5.3"]}).encode())
put("png", "rgb.png", png(5, 3, [200, 10, 30]))
put("png", "gray.png", png(1, 1, [0, 0, 0]))
put("mat", "labels.mat", mat("labels", [1, 2, 3, 102], compressed=False))
put("mat", "labels-z.mat", mat("labels", [5, 6, 7], compressed=True))

python = os.path.join(os.path.dirname(root), "..", ".venv-torch", "bin", "python")
if os.path.exists(python):
    import subprocess
    subprocess.run([python, "-c", f"""
import io, os, torch
from PIL import Image
os.makedirs({os.path.join(root, 'jpeg')!r}, exist_ok=True)
Image.new('RGB', (8, 6), (120, 30, 200)).save({os.path.join(root, 'jpeg', 'small.jpg')!r}, quality=90)
Image.new('L', (4, 4), 77).save({os.path.join(root, 'jpeg', 'gray.jpg')!r}, quality=50)
os.makedirs({os.path.join(root, 'pth')!r}, exist_ok=True)
torch.save({{'fc.weight': torch.ones(2, 2), 'fc.bias': torch.zeros(2)}}, {os.path.join(root, 'pth', 'state.pth')!r})
"""], check=True)
else:
    print("no .venv-torch: the jpeg and pth corpora are not written", file=sys.stderr)
