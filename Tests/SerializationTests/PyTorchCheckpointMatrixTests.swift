import Foundation
import Testing
import TestSupport
@testable import NN
@testable import Serialization
import Torch

/// Runs `script` with the engine's Python (torch 2.13) in `dir` and returns what it printed.
private func pythonOutput(_ script: String, in dir: URL) throws -> String? {
    let result = try ReferencePython.run(ReferencePython.engine, ["-c", script], in: dir)
    #expect(result.status == 0, "\(result.errors)")
    return result.status == 0 ? result.output : nil
}

private func scratchDirectory(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// The shapes of file the importer meets besides a bare zip state dict, each checked against
/// what `torch.load` reads from the same file.
@Suite(.enabled(if: ReferencePython.hasEngine, ".venv-torch (PyTorch 2.13) is missing: run scripts/setup"))
struct PyTorchCheckpointMatrixTests {
    /// Views of one storage at offsets, a transposed weight saved without .contiguous(), a
    /// stepped slice, a channels-last convolution weight, an expanded (stride 0) tensor, half
    /// and bfloat16 tensors — in the zip and in the legacy format: every value equals torch.load's.
    @Test func viewsAndStridesReadAsTorchLoadReadsThem() throws {
        let dir = try scratchDirectory("pth-views")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let output = try pythonOutput("""
            import json, torch
            g = torch.Generator().manual_seed(0)
            base = torch.randn(64, generator=g)
            sd = {
                "transposed": torch.randn(3, 5, generator=g).t(),
                "offset_view": base[7:19].view(3, 4),
                "stepped": base[1:40:3],
                "shares_storage": base[10:12],
                "channels_last": torch.randn(4, 3, 2, 2, generator=g).contiguous(memory_format=torch.channels_last),
                "expanded": torch.randn(3, 1, generator=g).expand(3, 4),
                "half": torch.randn(6, generator=g).half()[1:5],
                "bf16": torch.randn(2, 3, generator=g).bfloat16().t(),
                "scalar": torch.tensor(2.5),
            }
            torch.save(sd, "zip.pt")
            torch.save(sd, "legacy.pt", _use_new_zipfile_serialization=False)
            out = {}
            for f in ["zip.pt", "legacy.pt"]:
                loaded = torch.load(f)
                out[f] = {k: [list(v.shape), str(v.dtype), v.float().flatten().tolist()] for k, v in loaded.items()}
            print(json.dumps(out))
            """, in: dir) else { return }
        let expected = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String: [Any]]] ?? [:]
        for file in ["zip.pt", "legacy.pt"] {
            let checkpoint = try PyTorchCheckpoint(contentsOf: dir.appendingPathComponent(file))
            #expect(checkpoint.format == (file == "zip.pt" ? .zip : .legacy))
            let tensors = try checkpoint.tensors(of: checkpoint.candidates[0])
            let reference = try #require(expected[file])
            #expect(tensors.count == reference.count, "\(file)")
            for (name, tensor) in tensors {
                let entry = try #require(reference[name], "\(file): \(name)")
                let shape = entry[0] as? [Int], dtype = entry[1] as? String
                let values = (entry[2] as? [Double] ?? []).map { Float($0) }
                #expect(tensor.shape == shape, "\(file): \(name) shape \(tensor.shape) vs \(shape ?? [])")
                #expect("torch.\(tensor.dtype)" == dtype || (dtype == "torch.bfloat16" && tensor.dtype == .bfloat16)
                        || (dtype == "torch.float16" && tensor.dtype == .float16), "\(file): \(name) \(tensor.dtype) vs \(dtype ?? "")")
                #expect(try tensor.to(.float32).contiguous().floats() == values, "\(file): \(name) values differ from torch.load's")
            }
        }
    }

    /// A checkpoint dict as training scripts write it: the state dicts among numbers, lists and
    /// optimizer state (nested dicts, int keys, tensors, None, bools, big ints) are listed; the
    /// rest is read and ignored, in both formats.
    @Test func checkpointDictsListTheirStateDicts() throws {
        let dir = try scratchDirectory("pth-nested")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard try pythonOutput("""
            import torch
            torch.manual_seed(0)
            m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
            sgd = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
            adam = torch.optim.AdamW(m.parameters())
            for opt in (sgd, adam):
                m(torch.randn(5, 3)).sum().backward(); opt.step()
            ema = {k: v * 0.5 if v.is_floating_point() else v for k, v in m.state_dict().items()}
            ck = {"epoch": 7, "train_acc": 91.25, "big": 2 ** 40, "names": ["a", "b"], "none": None, "flag": True,
                  "model_state_dict": m.state_dict(), "optimizer_state_dict": sgd.state_dict(), "adam": adam.state_dict(),
                  "ema": ema}
            torch.save(ck, "ck.pt")
            torch.save(ck, "ck-legacy.pt", _use_new_zipfile_serialization=False)
            """, in: dir) != nil else { return }
        for file in ["ck.pt", "ck-legacy.pt"] {
            let checkpoint = try PyTorchCheckpoint(contentsOf: dir.appendingPathComponent(file))
            #expect(checkpoint.candidates.map(\.key) == ["model_state_dict", "ema"], "\(file)")
            #expect(checkpoint.candidates[0].names == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                                       "1.running_var", "1.num_batches_tracked"], "\(file)")
            let model = try checkpoint.tensors(of: checkpoint.candidates[0])
            let ema = try checkpoint.tensors(of: checkpoint.candidates[1])
            #expect(try ema[0].tensor.floats() == model[0].tensor.floats().map { $0 * 0.5 }, "\(file)")
            #expect(try model[6].tensor.values(as: Int64.self) == [2], "\(file)")
        }
    }

    /// Truncated and damaged files (zip and legacy, cut at every eighth of their length, a byte
    /// of the legacy pickle flipped): one line naming the file, never a crash or a hang.
    @Test func truncatedAndCorruptFilesGiveOneLine() throws {
        let dir = try scratchDirectory("pth-cut")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard try pythonOutput("""
            import torch
            sd = torch.nn.Linear(20, 10).state_dict()
            torch.save(sd, "zip.pt")
            torch.save(sd, "legacy.pt", _use_new_zipfile_serialization=False)
            torch.save(torch.ones(3), "tensor.pt")
            torch.save({"epoch": 3, "acc": 0.5}, "nostate.pt")
            """, in: dir) != nil else { return }
        var files = ["tensor.pt": "a single tensor", "nostate.pt": "no state dict"]
        for source in ["zip.pt", "legacy.pt"] {
            let data = try Data(contentsOf: dir.appendingPathComponent(source))
            for eighth in 1..<8 {
                let name = "cut\(eighth)-\(source)"
                try data.prefix(data.count * eighth / 8).write(to: dir.appendingPathComponent(name))
                files[name] = ""
            }
        }
        var flipped = try Data(contentsOf: dir.appendingPathComponent("legacy.pt"))
        flipped[40] ^= 0xFF
        try flipped.write(to: dir.appendingPathComponent("flipped-legacy.pt"))
        files["flipped-legacy.pt"] = ""
        for (file, expected) in files {
            let path = dir.appendingPathComponent(file)
            let error = #expect(throws: (any Error).self, "\(file)") { try PyTorchCheckpoint.read(contentsOf: path) }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.hasPrefix(path.path) && (expected.isEmpty || message.contains(expected)), "\(file): \(message)")
            #expect(!message.contains("\n"), "\(file): more than one line: \(message)")
        }
    }
}
