import Foundation
import Testing

/// Work-arounds for engine bugs that show on some CPUs only.
@Suite struct EngineWorkaroundTests {
    /// oneDNN's channels-last backward of a strided 1×1 convolution with fewer than 8 input
    /// channels (the downsample of a width-4 ResNet-18) corrupts the heap on an AVX2-only AMD
    /// EPYC (oneDNN's brgemm kernel; PyTorch 2.13 alone crashes the same way, with one thread
    /// every time). The shim runs such a convolution in NCHW; without that, this run dies with
    /// SIGSEGV/SIGABRT on those machines. Widths 2 and 4, one thread and two.
    @Test func tinyWidthsTrainChannelsLastOnEveryCPU() throws {
        let dir = try scratch()
        for (width, threads) in [("4", "1"), ("2", "1"), ("4", "2")] {
            let r = try lacoot(["train", "--run-dir", dir + "/w\(width)t\(threads)", "--width", width, "--threads", threads,
                                "--epochs", "1", "--max-batches", "3", "--batch-size", "32", "--train-limit", "300",
                                "--test-limit", "32", "--lambda", "1", "--projections", "4", "--quiet"])
            #expect(r.code == 0, "width \(width), \(threads) thread(s): exit \(r.code) \(r.err.prefix(300))")
        }
    }
}
