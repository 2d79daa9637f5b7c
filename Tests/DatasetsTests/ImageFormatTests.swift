import Foundation
import Testing
@testable import Datasets
import TestSupport

/// Images as they come (docs/RELIABILITY.md, round two): every PNG colour type and depth and
/// every JPEG kind decodes to what PIL's `convert("RGB")` gives; a file that is not an image is
/// refused with one line naming it. The fixtures are written by PIL (and a 16-bit PNG writer)
/// in the test; without a Python with PIL the test reports itself skipped.
@Suite struct ImageFormatTests {
    /// A Python that imports PIL: the engine's venv, the reference venv or Debian's.
    static let pillow: URL? = [ReferencePython.engine, ReferencePython.reference, URL(fileURLWithPath: "/usr/bin/python3")]
        .first { (try? ReferencePython.run($0, ["-c", "import PIL"]))?.status == 0 }

    /// Writes the fixtures into `dir`; prints each decodable one's size and RGB bytes as PIL reads them.
    static let script = #"""
import io, json, struct, sys, zlib
from PIL import Image
out = sys.argv[1]
def png_raw(path, w, h, color_type, bit_depth, rows):
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\x00" + r for r in rows)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(path, "wb").write(data)
expected = {}
w, h = 6, 5
# 16-bit gray and 16-bit RGB: value v in 16 bits, 8-bit expectation = round(v / 257)
g16 = [[(x * 11 + y * 7) * 1021 % 65536 for x in range(w)] for y in range(h)]
png_raw(f"{out}/gray16.png", w, h, 0, 16, [b"".join(struct.pack(">H", v) for v in row) for row in g16])
expected["gray16.png"] = [round(v / 257) for row in g16 for v in row for _ in range(3)]
rgb16 = [[[(x * 13 + y * 5 + c * 17) * 997 % 65536 for c in range(3)] for x in range(w)] for y in range(h)]
png_raw(f"{out}/rgb16.png", w, h, 2, 16, [b"".join(struct.pack(">HHH", *p) for p in row) for row in rgb16])
expected["rgb16.png"] = [round(v / 257) for row in rgb16 for p in row for v in p]
img = Image.new("RGB", (w, h))
img.putdata([((x * 40) % 256, (y * 50) % 256, (x * y * 9) % 256) for y in range(h) for x in range(w)])
pal = img.convert("P", palette=Image.ADAPTIVE, colors=16)
pal.save(f"{out}/palette.png"); assert Image.open(f"{out}/palette.png").mode == "P"
expected["palette.png"] = list(Image.open(f"{out}/palette.png").convert("RGB").tobytes())
la = Image.merge("LA", (img.convert("L"), Image.new("L", (w, h), 255)))
la.save(f"{out}/gray_alpha.png"); assert Image.open(f"{out}/gray_alpha.png").mode == "LA"
expected["gray_alpha.png"] = list(Image.open(f"{out}/gray_alpha.png").convert("RGB").tobytes())
big = Image.new("RGB", (24, 16)); big.putdata([((x * 10) % 256, (y * 15) % 256, 128) for y in range(16) for x in range(24)])
big.convert("CMYK").save(f"{out}/cmyk.jpg", quality=95)
assert Image.open(f"{out}/cmyk.jpg").mode == "CMYK"
expected["cmyk.jpg"] = list(Image.open(f"{out}/cmyk.jpg").convert("RGB").tobytes())
big.save(f"{out}/progressive.jpg", quality=95, progressive=True)
assert Image.open(f"{out}/progressive.jpg").info.get("progressive") or Image.open(f"{out}/progressive.jpg").info.get("progression")
expected["progressive.jpg"] = list(Image.open(f"{out}/progressive.jpg").convert("RGB").tobytes())
Image.new("RGB", (1, 1), (200, 30, 90)).save(f"{out}/one.png")
expected["one.png"] = [200, 30, 90]
Image.new("RGB", (1, 1), (200, 30, 90)).save(f"{out}/one.jpg", quality=100)
expected["one.jpg"] = list(Image.open(f"{out}/one.jpg").convert("RGB").tobytes())
open(f"{out}/empty.png", "wb").close()
open(f"{out}/text.jpg", "w").write("this is not a picture\n")
print(json.dumps({k: {"size": list(Image.open(f"{out}/{k}").size), "rgb": v} for k, v in expected.items()}))
"""#

    struct Expected: Decodable { let size: [Int]; let rgb: [Int] }

    @Test(.enabled(if: pillow != nil, "no Python with PIL (.venv-torch, .venv-ref or /usr/bin/python3): run scripts/setup"))
    func imagesAsTheyCome() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try ReferencePython.run(try #require(Self.pillow), ["-c", Self.script, dir.path])
        try #require(made.status == 0, "the fixture script failed: \(made.errors)")
        let expected = try JSONDecoder().decode([String: Expected].self, from: Data(made.output.utf8))
        #expect(expected.count == 8)
        for (name, want) in expected.sorted(by: { $0.key < $1.key }) {
            let path = dir.appendingPathComponent(name).path
            let image = try ImageCodec.decode(file: path, channels: 3)
            #expect([image.width, image.height] == want.size, "\(name)")
            // PNG: exact; JPEG: libjpeg builds may round an IDCT or upsampling step differently
            let tolerance = name.hasSuffix(".jpg") ? 2 : 0
            let worst = zip(image.pixels, want.rgb).map { abs(Int($0) - $1) }.max() ?? 0
            #expect(image.pixels.count == want.rgb.count && worst <= tolerance, "\(name): off by up to \(worst)")
            let gray = try ImageCodec.decode(file: path, channels: 1)
            #expect(gray.pixels.count == want.size[0] * want.size[1], "\(name) as gray")
        }
        // 16-bit gray to one channel is the high byte's scale, as PIL's "L"
        let gray16 = try ImageCodec.decode(file: dir.appendingPathComponent("gray16.png").path, channels: 1)
        #expect(gray16.pixels.map(Int.init) == stride(from: 0, to: expected["gray16.png"]!.rgb.count, by: 3).map { expected["gray16.png"]!.rgb[$0] })
        for (name, reason) in [("empty.png", "the file is empty (0 bytes)"), ("text.jpg", "neither PNG nor JPEG (starts with 74 68 69 73)")] {
            let path = dir.appendingPathComponent(name).path
            #expect {
                try ImageCodec.decode(file: path, channels: 3)
            } throws: { error in
                "\(error)" == "data: cannot decode image '\(path)': \(reason)"
            }
        }
    }
}
