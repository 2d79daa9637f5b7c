import Foundation
import LacootSupport
import NN
import SwiftProtobuf
import Torch

/// How a model is exported.
public struct ONNXExportOptions: Sendable {
    public enum Batch: Sendable, Equatable {
        /// Any batch size (the input's first dimension is named `batch`).
        case dynamic
        case fixed(Int)
    }

    public enum Precision: String, Sendable, CaseIterable {
        /// Weights and computation in float32.
        case fp32
        /// Weights and computation in float16; the graph still takes and returns float32
        /// (a Cast at each end).
        case fp16
    }

    /// The opsets the exporter writes.
    public static let supportedOpsets: ClosedRange<Int> = 13...21

    public var opset: Int
    public var batch: Batch
    public var precision: Precision
    public var inputName: String
    public var outputName: String
    /// `metadata_props` of the model (key → value).
    public var metadata: [String: String]

    public init(opset: Int = 17, batch: Batch = .dynamic, precision: Precision = .fp32, inputName: String = "input",
                outputName: String = "logits", metadata: [String: String] = [:]) {
        self.opset = opset
        self.batch = batch
        self.precision = precision
        self.inputName = inputName
        self.outputName = outputName
        self.metadata = metadata
    }
}

/// A model exported to ONNX: the serialized `ModelProto` and what it holds.
public struct ONNXModel: Sendable {
    public let data: Data
    public let nodeCount: Int
    public let initializerCount: Int
    /// The operator types used, with their counts.
    public let operators: [String: Int]
    /// MACs of one sample, counted on the captured pass (PyTorch's convention).
    public let macs: Int

    /// Writes the file atomically (no half-written file on failure).
    public func write(to url: URL) throws {
        try AtomicFile.write(to: url) { try $0.write(data) }
    }
}

/// Exports a model to ONNX from a capture of its own forward pass: the operations the model
/// really runs (``GraphCapture``), not a second description of the architecture. Collapsed
/// blocks run no operation, so they are absent from the graph.
///
/// ```swift
/// let onnx = try ONNXExporter.export(model, sampleShape: [1, 28, 28], options: ONNXExportOptions(opset: 17))
/// try onnx.write(to: URL(fileURLWithPath: "model.onnx"))
/// ```
public enum ONNXExporter {
    /// Exports `model` in evaluation mode (its mode is restored) for inputs of one sample's
    /// shape `sampleShape` ([C, H, W]).
    public static func export(_ model: Module, sampleShape: [Int], options: ONNXExportOptions = ONNXExportOptions()) throws
        -> ONNXModel {
        guard ONNXExportOptions.supportedOpsets.contains(options.opset) else {
            throw ExportError.unsupportedOpset(asked: options.opset, supported: ONNXExportOptions.supportedOpsets)
        }
        guard !sampleShape.isEmpty, sampleShape.allSatisfy({ $0 > 0 }) else {
            throw ExportError.invalidOption("the sample shape must be positive, got \(sampleShape)")
        }
        let batch: Int
        switch options.batch {
        case .dynamic: batch = 2
        case .fixed(let n):
            guard n > 0 else { throw ExportError.invalidOption("the batch size must be positive, got \(n)") }
            batch = n
        }
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }

        let generator = try Generator(seed: 0)
        let input = try Tensor.randn([batch] + sampleShape, generator: generator)
        let (output, capture) = try withNoGrad { try model.capture(input) }
        let probe = options.batch == .dynamic
            ? try withNoGrad { try model.capture(Tensor.randn([batch + 1] + sampleShape, generator: generator)).capture }
            : nil

        let builder = try ONNXGraphBuilder(floatDType: options.precision == .fp16 ? .float16 : .float32)
        let float32 = Int(try ONNXGraphBuilder.elementType(exactly: .float32))
        var entry = options.inputName
        if options.precision == .fp16 {
            entry = "\(options.inputName)_fp16"
            builder.node("Cast", [options.inputName], attributes: [Attribute.int("to", Int(builder.floatType))], output: entry, scope: "")
        }
        var parameterNames: [ObjectIdentifier: String] = [:]
        for (name, tensor) in model.stateDict() { parameterNames[ObjectIdentifier(tensor)] = name }
        let translator = try CaptureTranslator(
            builder: builder, opset: options.opset, capture: capture, probe: probe, batchSize: batch,
            probeBatchSize: batch + 1, parameterNames: parameterNames, input: input, inputName: entry)
        try translator.translateAll()
        guard let last = translator.names[ObjectIdentifier(output)] else {
            throw ExportError.unsupportedOperation(operation: "forward", module: "",
                                                   detail: "the model's output does not depend on its input")
        }
        if options.precision == .fp16 {
            builder.node("Cast", [last], attributes: [Attribute.int("to", float32)], output: options.outputName, scope: "")
        } else {
            builder.node("Identity", [last], output: options.outputName, scope: "")
        }

        let batchDimension: Dimension = options.batch == .dynamic ? .batch(1) : .fixed(batch)
        var graph = Onnx_GraphProto()
        graph.name = String(describing: type(of: model))
        graph.node = builder.nodes
        graph.initializer = builder.initializers
        graph.input = [valueInfo(options.inputName, shape: [batchDimension] + sampleShape.map { .fixed($0) })]
        graph.output = [valueInfo(options.outputName, shape: [batchDimension] + output.shape.dropFirst().map { .fixed($0) })]

        var proto = Onnx_ModelProto()
        proto.irVersion = irVersion(opset: options.opset)
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(options.opset)
        proto.opsetImport = [opset]
        proto.producerName = "lacoot"
        proto.producerVersion = "1"
        proto.docString = "Exported by lacoot from a capture of the model's forward pass."
        proto.graph = graph
        proto.metadataProps = options.metadata.sorted { $0.key < $1.key }.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        let data: Data = try proto.serializedBytes()
        let operators = builder.nodes.reduce(into: [String: Int]()) { $0[$1.opType, default: 0] += 1 }
        // every product's MACs are per sample, so the captured batch's divide exactly
        return ONNXModel(data: data, nodeCount: builder.nodes.count, initializerCount: builder.initializers.count,
                         operators: operators, macs: capture.macs / batch)
    }

    /// A float32 tensor value of `shape` (a batch dimension is named `batch`).
    private static func valueInfo(_ name: String, shape: [Dimension]) -> Onnx_ValueInfoProto {
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = 1   // FLOAT: the graph takes and returns float32 at every precision
        var shapeProto = Onnx_TensorShapeProto()
        shapeProto.dim = shape.map { dim in
            var d = Onnx_TensorShapeProto.Dimension()
            switch dim {
            case .fixed(let v): d.dimValue = Int64(v)
            case .batch: d.dimParam = "batch"
            }
            return d
        }
        tensorType.shape = shapeProto
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }

    /// The IR version that goes with an opset (ONNX's versioning table).
    static func irVersion(opset: Int) -> Int64 {
        switch opset {
        case ...14: 7
        case 15...18: 8
        case 19...20: 9
        default: 10
        }
    }
}
