import ArgumentParser
import Foundation
import Torch

/// `lacoot info`: the engine and the machine, with a convolution self-check.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the engine (libtorch version, threads, oneDNN, BLAS) and run a quick self-check.",
        discussion: "Example: lacoot info --json --threads 2"
    )

    @OptionGroup var runtime: RuntimeOptions

    struct Info: Encodable {
        let libtorch: String
        let threads: Int
        let activeCores: Int
        let oneDNN: Bool
        let openMP: Bool
        let blas: String
        let selfCheck: String
        let convMilliseconds: Double
    }

    func run() throws {
        try runtime.apply()
        let generator = try Generator(seed: 0)
        let x = try Tensor.randn([32, 16, 32, 32], generator: generator)
        let w = try Tensor.randn([16, 16, 3, 3], generator: generator).requiresGrad(true)
        let start = Date()
        let y = try Functional.conv2d(x, weight: w, padding: (1, 1))
        try y.square().mean().backward()
        let ms = Date().timeIntervalSince(start) * 1000
        let ok = try w.grad?.shape == [16, 16, 3, 3]
        let info = Info(libtorch: Runtime.version, threads: Runtime.threadCount, activeCores: Runtime.activeCores,
                        oneDNN: Runtime.hasMKLDNN, openMP: Runtime.hasOpenMP, blas: Runtime.blas,
                        selfCheck: ok ? "ok" : "failed", convMilliseconds: ms)
        if runtime.json {
            try printJSON(info)
        } else {
            print(Runtime.summary)
            print(String(format: "self-check: conv2d 3x3 16->16 on 32x16x32x32, forward + backward: %@ (%.1f ms)",
                         info.selfCheck, ms))
        }
        if !ok { throw ExitCode.failure }
    }
}
