import Foundation
import Testing
import LacootSupport

/// A fresh temporary folder.
func temporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

struct AtomicFileError_Body: Error {}

@Suite struct AtomicFileTests {
    @Test func atomicWriteReplacesTheFileAndLeavesNoTemporaryFile() throws {
        let folder = try temporaryFolder("atomic")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("report.json")
        try AtomicFile.write(Data("old".utf8), to: target)
        try AtomicFile.writeJSON(["b": 2, "a": 1], to: target)
        #expect(try String(contentsOf: target, encoding: .utf8) == "{\n  \"a\" : 1,\n  \"b\" : 2\n}\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["report.json"])
    }

    /// What a write killed half-way leaves (`.<name>.tmp-<pid>-<id>`) is removed; the user's own
    /// dot-files and files that only look alike are not.
    @Test func staleTemporaryFilesAreRemovedAndNothingElse() throws {
        let folder = try temporaryFolder("stale")
        defer { try? FileManager.default.removeItem(at: folder) }
        let stale = [".checkpoint.safetensors.tmp-4242-1A2B3C4D", ".config.json.tmp-7-DEADBEEF"]
        let kept = ["checkpoint.safetensors", ".lock", ".notes.tmp-x-12345678", "a.tmp-1-1A2B3C4D", ".b.tmp-12-XYZ"]
        for name in stale + kept { try Data("x".utf8).write(to: folder.appendingPathComponent(name)) }
        #expect(AtomicFile.removeStaleTemporaryFiles(in: folder).sorted() == stale.sorted())
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == kept.sorted())
    }

    @Test func failedWritesNameThePathAndKeepTheOldContent() throws {
        let folder = try temporaryFolder("atomic-fail")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("model.json")
        try AtomicFile.write(Data("previous".utf8), to: target)

        // An encoding error (JSON has no NaN): the old content stays, no temporary file.
        let bad = ["accuracy": Double.nan]
        let encodeError = #expect(throws: AtomicFileError.self) { try AtomicFile.writeJSON(bad, to: target) }
        #expect(encodeError?.description.contains(target.path) == true)
        #expect(try String(contentsOf: target, encoding: .utf8) == "previous")

        // A missing folder.
        let missing = folder.appendingPathComponent("no/such/folder/report.html")
        let missingError = #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("x".utf8), to: missing) }
        #expect(missingError?.description.contains("does not exist") == true)
        #expect(missingError?.description.contains(missing.path) == true)

        // The target is a folder with content: the rename fails after the temporary file was
        // written; it is removed and the folder is untouched.
        let occupied = folder.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: occupied.appendingPathComponent("inside.txt"))
        let folderError = #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("x".utf8), to: occupied) }
        #expect(folderError?.description.contains(occupied.path) == true)
        #expect(try String(contentsOf: occupied.appendingPathComponent("inside.txt"), encoding: .utf8) == "keep")

        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["model.json", "occupied"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: occupied.path) == ["inside.txt"])
    }

    @Test func aFailingBodyKeepsTheOldContentAndLeavesNoTemporaryFile() throws {
        let folder = try temporaryFolder("atomic-body")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("weights.safetensors")
        try AtomicFile.write("old content", to: target)
        #expect(throws: AtomicFileError_Body.self) {
            try AtomicFile.write(to: target) { out in
                try out.write(Data("half of the new".utf8))
                // the temporary file exists next to the target while the body runs
                let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                #expect(names.count == 2 && names.contains { $0.hasPrefix(".weights.safetensors.tmp-") })
                throw AtomicFileError_Body()
            }
        }
        #expect(try String(contentsOf: target, encoding: .utf8) == "old content")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["weights.safetensors"])
    }

    @Test func streamedChunksArriveInOrderAndKeepThePermissionBits() throws {
        let folder = try temporaryFolder("atomic-stream")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("data.bin")
        try AtomicFile.write("x", to: target)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target.path)
        try AtomicFile.write(to: target) { out in
            try out.write([1, 2, 3] as [UInt8])
            try out.write(Data([4, 5]))
            try out.write([] as [UInt8])
        }
        #expect(try Data(contentsOf: target) == Data([1, 2, 3, 4, 5]))
        let mode = try FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func typedErrorsCarryThePath() throws {
        let folder = try temporaryFolder("atomic-typed")
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("nope/file.txt")
        do {
            try AtomicFile.write("x", to: missing)
            Issue.record("wrote into a missing folder")
        } catch let error as AtomicFileError {
            #expect(error == .missingFolder(path: missing.path, folder: folder.appendingPathComponent("nope").path))
            #expect(error.path == missing.path)
        }
    }
}

@Suite struct CancellationTokenTests {
    @Test func cancelIsSeenAndReportsAnEarlierRequest() {
        let token = CancellationToken()
        #expect(!token.isCancelled)
        #expect(token.cancel() == false)
        #expect(token.isCancelled)
        #expect(token.cancel() == true, "a second request reports the first")
        token.reset()
        #expect(!token.isCancelled)
    }

    @Test func tokensAreIndependent() {
        let a = CancellationToken(), b = CancellationToken()
        a.cancel()
        #expect(a.isCancelled && !b.isCancelled)
    }
}

@Suite struct ProgressLineTests {
    @Test func clockFormatsHoursMinutesSeconds() {
        #expect(ProgressLine.clock(0) == "0:00")
        #expect(ProgressLine.clock(123) == "2:03")
        #expect(ProgressLine.clock(3723) == "1:02:03")
        #expect(ProgressLine.clock(.infinity) == "--:--")
        #expect(ProgressLine.clock(-1) == "--:--")
    }

    @Test func rateCountsAdvancedUnits() throws {
        let line = ProgressLine(label: "x", total: 10, enabled: false)
        line.advance(by: 4)
        Thread.sleep(forTimeInterval: 0.01)
        #expect(line.rate > 0)
        #expect(line.rate < 4 / 0.01 + 1)
    }
}
