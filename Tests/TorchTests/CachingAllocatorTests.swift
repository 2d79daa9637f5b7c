import Testing
import Torch

/// The caching CPU allocator: a freed large block is handed out again (no new pages), and the
/// values a reused block holds are the new tensor's own.
@Suite struct CachingAllocatorTests {
    @Test func aFreedLargeBlockIsHandedOutAgain() throws {
        let installed = try #require(Runtime.allocator, "the caching allocator is libtorch's CPU allocator")
        #expect(installed.limitBytes >= 1 << 30 && installed.limitBytes <= 8 << 30)
        // an odd size that no other test allocates: 300,001 floats (1.2 MB, rounded up to 64 KiB)
        // (other tests allocate concurrently: the checks compare addresses, not global counters)
        let count = 300_001
        var freed: UInt?
        do { freed = try Tensor.full([count], 7).dataAddress }
        let reused = try Tensor.zeros([count])
        #expect(reused.dataAddress == freed, "the block just freed should have been handed out again")
        #expect(try reused.abs().amax().item() == 0, "a reused block must hold the new tensor's values")
        #expect(try #require(Runtime.allocator).hits > 0)
    }
}
