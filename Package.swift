// swift-tools-version:6.0
import Foundation
import PackageDescription

// libtorch: the Debian package (`libtorch-dev`, headers in /usr/include, libraries on the
// default linker path) unless `LIBTORCH` names another libtorch folder (include/ + lib/,
// e.g. the `torch/` folder of a PyTorch wheel). Those builds need a few unsafe flags, which
// SwiftPM accepts in a root package only.
let libtorch = Context.environment["LIBTORCH"].flatMap { $0.isEmpty ? nil : $0 }

var shimCxx: [CXXSetting] = [.define("CTORCH_BUILD")]
var shimLinker: [LinkerSetting] = [.linkedLibrary("torch_cpu"), .linkedLibrary("c10"), .linkedLibrary("stdc++")]
var cxxStandard: CXXLanguageStandard = .gnucxx17
if let root = libtorch {
    if !FileManager.default.fileExists(atPath: "\(root)/include/ATen/ATen.h") {
        // reported by the shim as one clear compile error
        shimCxx.append(.define("CTORCH_BAD_LIBTORCH", to: "\"\(root)\""))
    }
    shimCxx.append(.unsafeFlags(["-I\(root)/include", "-D_GLIBCXX_USE_CXX11_ABI=1", "-Wno-deprecated-declarations"]))
    shimLinker.append(.unsafeFlags(["-L\(root)/lib", "-Xlinker", "-rpath", "-Xlinker", "\(root)/lib"]))
    // libtorch 2.x headers want C++20 (clean there); 1.13's fail under it.
    if Context.environment["LIBTORCH_CXX20"] == "1" { cxxStandard = .cxx20 }
}

let package = Package(
    name: "lacoot",
    products: [
        .library(name: "Torch", targets: ["Torch"]),
        .library(name: "LacootSupport", targets: ["LacootSupport"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "LacootReport", targets: ["LacootReport"]),
        .library(name: "LaCoOT", targets: ["LaCoOT"]),
        .library(name: "LacootWorkflow", targets: ["LacootWorkflow"]),
        .executable(name: "lacoot", targets: ["lacoot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "CTorch", cxxSettings: shimCxx, linkerSettings: shimLinker),
        .target(name: "Torch", dependencies: ["CTorch"]),
        // Foundation only: the atomic file writer, the progress line, cancellation.
        .target(name: "LacootSupport"),
        .target(name: "NN", dependencies: ["Torch", "LacootSupport"]),
        .target(name: "Models", dependencies: ["NN"]),
        // PNG/JPEG/gzip through Debian's libpng, libjpeg-turbo and zlib (-dev packages in
        // scripts/setup), behind a small C file that turns their fatal errors into return codes.
        .target(name: "CDataCodecs", linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg"), .linkedLibrary("z")]),
        .target(name: "Datasets", dependencies: ["Torch", "CDataCodecs", .product(name: "Logging", package: "swift-log")]),
        // Foundation only: result records (measurements, curves, runs) and their renderings
        // (Markdown, HTML, SVG charts). Knows nothing of tensors.
        .target(name: "LacootReport"),
        // The algorithm: the distance, the regularizer, block scoring, collapsing.
        .target(name: "LaCoOT", dependencies: [
            "Models", "NN", "Datasets", "Torch", "LacootSupport", "LacootReport", .product(name: "Logging", package: "swift-log"),
        ]),
        // Training runs, run folders, collapsed-model files, the demo.
        .target(name: "LacootWorkflow", dependencies: [
            "LaCoOT", "LacootReport", "LacootSupport", "Models", "NN", "Datasets", "Torch",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "lacoot", dependencies: [
            "LacootWorkflow", "LaCoOT", "LacootReport", "LacootSupport", "Models", "NN", "Datasets", "Torch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "LacootBench", dependencies: ["LacootWorkflow", "LaCoOT", "Models", "NN", "Datasets", "Torch"], path: "Benchmarks/LacootBench"),
        .testTarget(name: "TorchTests", dependencies: ["Torch"]),
        .testTarget(name: "LacootSupportTests", dependencies: ["LacootSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "LacootSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Torch"]),
        .testTarget(name: "LacootReportTests", dependencies: ["LacootReport", "LacootSupport"]),
        .testTarget(name: "LaCoOTTests", dependencies: ["LaCoOT", "LacootReport", "Models", "NN", "Datasets", "Torch"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LacootWorkflowTests", dependencies: [
            "LacootWorkflow", "LaCoOT", "LacootReport", "LacootSupport", "Models", "NN", "Datasets", "Torch",
        ]),
        .testTarget(name: "LacootCLITests", dependencies: ["lacoot"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: cxxStandard
)
