// swift-tools-version:6.0
import Foundation
import PackageDescription

// libtorch: the one `scripts/setup` installs into the project (`.libtorch`, a link to the
// `torch/` folder of PyTorch's CPU wheel), unless `LIBTORCH` names another libtorch folder
// (include/ + lib/: another version, a CUDA build, a wheel's `torch/` folder). The folder's
// CMake files give its version and C++ ABI. Linking it needs a few unsafe flags, which
// SwiftPM accepts in a root package only.
let environmentLibtorch = Context.environment["LIBTORCH"].flatMap { $0.isEmpty ? nil : $0 }
let libtorch = environmentLibtorch ?? Context.packageDirectory + "/.libtorch"
let fileManager = FileManager.default

/// The text of one of libtorch's CMake files (empty when absent).
func cmakeText(_ name: String) -> String {
    (try? String(contentsOfFile: "\(libtorch)/share/cmake/Torch/\(name)", encoding: .utf8)) ?? ""
}

var shimCxx: [CXXSetting] = [.define("CTORCH_BUILD")]
var shimLinker: [LinkerSetting] = [.linkedLibrary("torch_cpu"), .linkedLibrary("c10"), .linkedLibrary("stdc++")]
if !fileManager.fileExists(atPath: "\(libtorch)/include/ATen/ATen.h") {
    // reported by the shim as one clear compile error naming the folder
    shimCxx.append(.define(environmentLibtorch == nil ? "CTORCH_NO_LIBTORCH" : "CTORCH_BAD_LIBTORCH", to: "\"\(libtorch)\""))
}
let cxx11ABI = cmakeText("TorchConfig.cmake").contains("_GLIBCXX_USE_CXX11_ABI=0") ? "0" : "1"
shimCxx.append(.unsafeFlags(["-I\(libtorch)/include", "-I\(libtorch)/include/torch/csrc/api/include", "-D_GLIBCXX_USE_CXX11_ABI=\(cxx11ABI)", "-Wno-deprecated-declarations"]))
// A CUDA build: link its libraries whole, so that their kernels register (as torch's CMake does).
let hasCUDA = fileManager.fileExists(atPath: "\(libtorch)/lib/libtorch_cuda.so")
let cudaLibraries = hasCUDA ? ["-Xlinker", "--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Xlinker", "--as-needed"] : []
shimLinker.append(.unsafeFlags(["-L\(libtorch)/lib", "-Xlinker", "-rpath", "-Xlinker", "\(libtorch)/lib"] + cudaLibraries))
if hasCUDA { shimCxx.append(.define("CTORCH_HAS_CUDA")) }
// libtorch 2.x headers are clean under C++20.
let cxxStandard: CXXLanguageStandard = .cxx20

let package = Package(
    name: "lacoot",
    products: [
        .library(name: "Torch", targets: ["Torch"]),
        .library(name: "LacootSupport", targets: ["LacootSupport"]),
        .library(name: "Costs", targets: ["Costs"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Serialization", targets: ["Serialization"]),
        .library(name: "Optim", targets: ["Optim"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "LacootRecords", targets: ["LacootRecords"]),
        .library(name: "LacootReport", targets: ["LacootReport"]),
        .library(name: "LaCoOT", targets: ["LaCoOT"]),
        .library(name: "LacootWorkflow", targets: ["LacootWorkflow"]),
        .library(name: "LacootExport", targets: ["LacootExport"]),
        .executable(name: "lacoot", targets: ["LacootCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
    ],
    targets: [
        .target(name: "CTorch", cxxSettings: shimCxx, linkerSettings: shimLinker),
        .target(name: "Torch", dependencies: ["CTorch"]),
        // Foundation only: the atomic file writer, the progress line, cancellation.
        .target(name: "LacootSupport"),
        // The cost model's vocabulary and its entry point, tensor-free: MAC conventions, per-layer
        // costs, the context an analysis threads, the report. Each layer counts its own cost in
        // its `analyze` (NN, Models).
        .target(name: "Costs"),
        .target(name: "NN", dependencies: ["Costs", "Torch", "LacootSupport"]),
        // Tensors on disk: safetensors (read and written), and PyTorch's torch.save files (zip
        // archives and the legacy format) through a restricted pickle reader.
        .target(name: "Serialization", dependencies: ["NN", "Torch", "LacootSupport"]),
        // Optimizers (SGD, AdamW, parameter groups, clipping), learning-rate schedules, and the
        // training checkpoint that saves their state with the weights.
        .target(name: "Optim", dependencies: ["Serialization", "NN", "Torch"]),
        .target(name: "Models", dependencies: ["Serialization", "NN", "Costs", "LacootSupport"]),
        // PNG/JPEG/gzip through Debian's libpng, libjpeg-turbo and zlib (-dev packages in
        // scripts/setup), behind a small C file that turns their fatal errors into return codes.
        .target(name: "CDataCodecs", linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg"), .linkedLibrary("z")]),
        .target(name: "Datasets", dependencies: ["Torch", "CDataCodecs", .product(name: "Logging", package: "swift-log")]),
        // Foundation only: the records the algorithm and the workflow produce (block distances,
        // epoch metrics, measurements, removal curves and orders). Knows nothing of tensors.
        .target(name: "LacootRecords"),
        // Foundation only: the report (runs compared) and its renderings (Markdown, HTML, SVG
        // charts).
        .target(name: "LacootReport", dependencies: ["LacootRecords"]),
        // The algorithm: the distance, the regularizer, block scoring, collapsing.
        .target(name: "LaCoOT", dependencies: [
            "Models", "NN", "Datasets", "Torch", "LacootSupport", "LacootRecords", .product(name: "Logging", package: "swift-log"),
        ]),
        // Training runs, run folders, collapsed-model files, the demo.
        .target(name: "LacootWorkflow", dependencies: [
            "LaCoOT", "LacootRecords", "LacootReport", "LacootSupport", "Models", "Optim", "Serialization", "NN", "Datasets",
            "Torch", .product(name: "Logging", package: "swift-log"),
        ]),
        // ONNX export from a graph capture of the model's forward pass. The ONNX message types in
        // Generated/ are protoc-gen-swift's output for onnx.proto (scripts/generate-onnx-proto).
        .target(name: "LacootExport", dependencies: [
            "Models", "NN", "Torch", "LacootSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // The command line; its product (the binary) is `lacoot`. Not a folder named `lacoot`: on a
        // case-insensitive file system (macOS's default) it would be the folder of `LaCoOT`.
        .executableTarget(name: "LacootCLI", dependencies: [
            "LacootWorkflow", "LacootExport", "LaCoOT", "LacootRecords", "LacootReport", "LacootSupport", "Models", "Optim", "NN", "Costs",
            "Datasets", "Torch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "LacootBench", dependencies: ["LacootWorkflow", "LacootExport", "LaCoOT", "Models", "NN", "Datasets", "Torch", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Benchmarks/LacootBench"),
        // libFuzzer harnesses for the readers of untrusted bytes (scripts/fuzz builds them with
        // -sanitize=fuzzer,address -DLACOOT_FUZZ; a plain build gives a stub that says so).
        .executableTarget(name: "LacootFuzz", dependencies: ["Datasets", "NN", "Serialization", "Optim", "Models"], path: "Fuzz/LacootFuzz",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Shared by the test targets: finding and running the Python references.
        .target(name: "TestSupport", dependencies: ["NN", "Torch"], path: "Tests/TestSupport"),
        .testTarget(name: "TorchTests", dependencies: ["Torch"]),
        .testTarget(name: "LacootSupportTests", dependencies: ["LacootSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Costs", "TestSupport"]),
        .testTarget(name: "SerializationTests", dependencies: ["Serialization", "NN", "Torch", "LacootSupport", "TestSupport"]),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "Serialization", "NN", "Torch", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Optim", "Serialization", "Costs", "TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Torch", "TestSupport"]),
        .testTarget(name: "LacootReportTests", dependencies: ["LacootReport", "LacootRecords", "LacootSupport"]),
        .testTarget(name: "LaCoOTTests", dependencies: ["LaCoOT", "LacootRecords", "Models", "NN", "Datasets", "Torch"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LacootWorkflowTests", dependencies: [
            "LacootWorkflow", "LaCoOT", "LacootRecords", "LacootReport", "LacootSupport", "Models", "Optim", "Serialization", "NN",
            "Datasets", "Torch", "TestSupport",
        ]),
        .testTarget(name: "LacootCLITests", dependencies: ["LacootCLI", "TestSupport"]),
        .testTarget(name: "LacootExportTests", dependencies: [
            "LacootExport", "LacootWorkflow", "LaCoOT", "Models", "NN", "Costs", "Torch", "Datasets", "TestSupport",
        ]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: cxxStandard
)
