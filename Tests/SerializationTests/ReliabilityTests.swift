import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import NN
@testable import Serialization
import Torch

/// Hostile metadata and non-regular files reach the readers as typed errors, never a trap or a hang.
@Suite struct SerializationReliabilityTests {
    /// A FIFO where a safetensors file (a checkpoint, a model) is expected: an error naming it, no wait for a writer.
    @Test func fifoIsNotReadAsSafetensors() throws {
        let fifo = try temporaryDirectory().appendingPathComponent("checkpoint.safetensors")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        #expect(throws: SafetensorsError.unreadable(file: fifo.path, reason: "is a FIFO (named pipe), a regular file was expected")) {
            try Safetensors.read(contentsOf: fifo)
        }
        #expect(throws: SafetensorsError.self) { try Safetensors.readMetadata(contentsOf: fifo.deletingLastPathComponent()) }
    }
}
