import Foundation
import Torch

/// A benchmark the program knows: either runnable, or waiting on the issue whose API it needs.
struct Benchmark {
    let name: String
    let summary: String
    let run: ((Options) throws -> Void)?
    let waitsOn: String?
}

let benchmarks: [Benchmark] = [
    Benchmark(name: "engine", summary: "conv/matmul/op overhead, Swift vs PyTorch (issue 2)", run: EngineBench.run, waitsOn: nil),
    Benchmark(name: "train-step", summary: "ResNet-18 training step and latency (issue 3)", run: TrainStepBench.run,
              waitsOn: nil),
    Benchmark(name: "loader", summary: "data loader throughput vs training (issue 4)", run: LoaderBench.run,
              waitsOn: nil),
    Benchmark(name: "regularizer", summary: "LaCoOT regularizer overhead (issue 5)", run: RegularizerBench.run,
              waitsOn: nil),
    Benchmark(name: "reference", summary: "LaCoOT step vs the PyTorch reference (issue 6)", run: ReferenceBench.run,
              waitsOn: nil),
    Benchmark(name: "profile", summary: "LaCoOT step op by op: libtorch's profiler vs torch.profiler (issue 9)",
              run: ProfileBench.run, waitsOn: nil),
    Benchmark(name: "scaling", summary: "step time vs batch/width, MSW time vs N/d (issue 6)", run: ScalingBench.run,
              waitsOn: nil),
]

let names = benchmarks.map(\.name).joined(separator: ", ")
let args = CommandLine.arguments.dropFirst()

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data(("LacootBench: " + message + "\n").utf8))
    exit(code)
}

guard let name = args.first else { fail("no benchmark named; one of: \(names), list. \(Options.usage)", code: 2) }
if name == "list" {
    for b in benchmarks {
        print("\(b.name)\t\(b.run == nil ? "waiting on \(b.waitsOn ?? "?")" : "ready")\t\(b.summary)")
    }
    exit(0)
}
if name == "info" {
    print(Runtime.summary)
    exit(0)
}
guard let bench = benchmarks.first(where: { $0.name == name }) else {
    fail("unknown benchmark \"\(name)\"; one of: \(names)", code: 2)
}
guard let run = bench.run else {
    fail("\(bench.name) is not available yet: it waits on \(bench.waitsOn ?? "another issue")", code: 3)
}
do {
    let options = try Options.parse(args.dropFirst())
    try run(options)
} catch let error as BenchError {
    fail("\(bench.name): \(error.description)", code: 1)
} catch {
    fail("\(bench.name): \(error)", code: 1)
}
