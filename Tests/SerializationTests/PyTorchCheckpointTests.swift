import Foundation
import Testing
import TestSupport
@testable import NN
@testable import Serialization
import Torch

/// Runs `script` with the engine's Python (torch 2.13) in `dir`; false (recorded) when it fails.
private func python(_ script: String, in dir: URL) throws -> Bool {
    let result = try ReferencePython.run(ReferencePython.engine, ["-c", script], in: dir)
    #expect(result.status == 0, "\(result.errors)")
    return result.status == 0
}

@Suite(.enabled(if: ReferencePython.hasEngine, ".venv-torch (PyTorch 2.13) is missing: run scripts/setup"))
struct PyTorchCheckpointTests {
    /// State dicts torch.save wrote — an OrderedDict with _metadata, half and integer tensors,
    /// a view into a larger storage, shared storages, a wrapped checkpoint — read exactly.
    @Test func readsWhatTorchSaveWrites() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard try python("""
            import torch
            torch.manual_seed(0)
            sd = torch.nn.Linear(3, 2).state_dict()
            base = torch.arange(12.)
            sd["view"] = base[2:8].view(2, 3).t()          # offset 2, strides (1, 3)
            sd["alias"] = base[:4]                          # the same storage
            sd["half"] = torch.tensor([1.5, -2.0]).half()
            sd["count"] = torch.tensor(7)
            sd["mask"] = torch.tensor([True, False])
            torch.save(sd, "sd.pth")
            torch.save({"epoch": 3, "state_dict": sd}, "wrapped.pth")
            """, in: dir) else { return }
        for file in ["sd.pth", "wrapped.pth"] {
            let tensors = try PyTorchCheckpoint.read(contentsOf: dir.appendingPathComponent(file))
            #expect(tensors.map(\.name) == ["weight", "bias", "view", "alias", "half", "count", "mask"], "\(file)")
            let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) })
            #expect(try byName["view"]!.shape == [3, 2] && byName["view"]!.floats() == [2, 5, 3, 6, 4, 7])
            #expect(try byName["alias"]!.floats() == [0, 1, 2, 3])
            #expect(try byName["half"]!.dtype == .float16 && byName["half"]!.floats() == [1.5, -2])
            #expect(try byName["count"]!.dtype == .int64 && byName["count"]!.shape == [] && byName["count"]!.values(as: Int64.self) == [7])
            #expect(try byName["mask"]!.dtype == .bool)
            #expect(try byName["weight"]!.shape == [2, 3] && byName["bias"]!.shape == [2])
        }
    }

    /// Hostile and broken files get one clear error and run nothing: a pickle calling
    /// os.system, a truncated archive, a file that is not a zip, a storage whose declared size
    /// exceeds its record. (The legacy pre-1.6 format is read: PyTorchCheckpointMatrixTests.)
    @Test func refusesHostileAndBrokenFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pth-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("PWNED").path
        guard try python("""
            import os, torch, zipfile
            class Evil:
                def __reduce__(self):
                    return (os.system, ("touch \(marker)",))
            torch.save({"w": torch.ones(2), "evil": Evil()}, "evil.pth")
            torch.save({"w": torch.ones(4)}, "ok.pth")
            data = open("ok.pth", "rb").read()
            open("truncated.pth", "wb").write(data[: len(data) // 2])
            open("text.pth", "wb").write(b"not a zip at all")
            torch.save({"w": torch.ones(2)}, "legacy.pth", _use_new_zipfile_serialization=False)
            # a storage that claims 1000 elements but holds 4
            src = zipfile.ZipFile("ok.pth")
            with zipfile.ZipFile("liar.pth", "w", zipfile.ZIP_STORED) as out:
                for info in src.infolist():
                    body = src.read(info)
                    if info.filename.endswith("data.pkl"):
                        body = body.replace(b"K\\x04t", b"M\\xe8\\x03t")
                    out.writestr(info, body)
            # a central directory that promises a 3.9 GB version record (libtorch reads it on open)
            bomb = bytearray(data)
            at = bomb.find(b"PK\\x01\\x02")
            while at >= 0:
                n = int.from_bytes(bomb[at + 28:at + 30], "little")
                if bomb[at + 46:at + 46 + n].endswith(b"/version"):
                    bomb[at + 24:at + 28] = (0xEEEEEEEE).to_bytes(4, "little")
                at = bomb.find(b"PK\\x01\\x02", at + 1)
            open("bomb.pth", "wb").write(bomb)
            """, in: dir) else { return }
        let cases: [(String, String)] = [
            ("evil.pth", "refused: the pickle names posix.system"), ("truncated.pth", "zip"), ("text.pth", "zip"),
            ("liar.pth", "declares 1000"),
            ("bomb.pth", "claims 4008636142 bytes, more than the whole file"),
        ]
        for (file, expected) in cases {
            let error = #expect(throws: (any Error).self, "\(file)") {
                try PyTorchCheckpoint.read(contentsOf: dir.appendingPathComponent(file))
            }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains(expected), "\(file): \(message)")
            #expect(!message.contains("\n"), "\(file): more than one line: \(message)")
        }
        #expect(try PyTorchCheckpoint.read(contentsOf: dir.appendingPathComponent("legacy.pth")).map(\.name) == ["w"])
        #expect(!FileManager.default.fileExists(atPath: marker), "the pickle ran os.system")
    }
}

/// Every input the fuzzer found (Fuzz/findings/pth-*) now gets one line, not a crash or
/// gigabytes of memory.
@Suite struct PyTorchCheckpointFindingsTests {
    @Test func fuzzFindingsAreRefusedInOneLine() throws {
        let findings = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/findings").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: findings.path).filter { $0.hasPrefix("pth-") }
        #expect(!files.isEmpty, "no pth findings in \(findings.path)")
        for file in files {
            let error = #expect(throws: (any Error).self, "\(file)") {
                try PyTorchCheckpoint.read(contentsOf: findings.appendingPathComponent(file))
            }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("not a PyTorch zip archive ("), "\(file): \(message)")
            #expect(!message.contains("\n"), "\(file): more than one line: \(message)")
        }
    }
}
