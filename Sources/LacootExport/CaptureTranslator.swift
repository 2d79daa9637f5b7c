import Foundation
import Torch

/// One dimension of a value in a dynamic-batch graph: fixed, or `k` × the batch size.
enum Dimension: Equatable {
    case fixed(Int)
    case batch(Int)
}

/// Turns a ``GraphCapture`` of a model's forward pass into ONNX nodes.
///
/// The operations that read the graph's input (directly or through other such operations)
/// become nodes; everything else the pass computed — parameters, buffers, and values built
/// from them alone (Swin's relative-position bias and shift masks) — becomes an initializer
/// holding the captured value. For a dynamic batch, the same pass is captured at a second
/// batch size (the probe): a dimension that differs between the two is `k` × the batch, and an
/// operation whose output shape differs is emitted even when it reads only constants (ViT's
/// class token expanded to the batch).
final class CaptureTranslator {
    let builder: ONNXGraphBuilder
    let opset: Int
    let nodes: [CapturedNode]
    /// The probe's nodes, one per node (dynamic batch only).
    let probeNodes: [CapturedNode]?
    let batchSize: Int
    let probeBatchSize: Int
    /// State-dict names of the model's parameters and buffers, for initializer names.
    let parameterNames: [ObjectIdentifier: String]
    /// ONNX value names of the emitted tensors.
    private(set) var names: [ObjectIdentifier: String] = [:]
    /// Output shapes of the emitted tensors, in batch terms.
    private(set) var dimensions: [ObjectIdentifier: [Dimension]] = [:]
    /// Node indices absorbed by another node (a BatchNorm folded into its convolution).
    var absorbed: Set<Int> = []
    /// For every tensor, the indices of the nodes that read it.
    let readers: [ObjectIdentifier: [Int]]
    private var batchVector: String?
    let graphInputName: String

    init(builder: ONNXGraphBuilder, opset: Int, capture: GraphCapture, probe: GraphCapture?, batchSize: Int,
         probeBatchSize: Int, parameterNames: [ObjectIdentifier: String], input: Tensor, inputName: String) throws {
        self.builder = builder
        self.opset = opset
        nodes = capture.nodes
        self.batchSize = batchSize
        self.probeBatchSize = probeBatchSize
        self.parameterNames = parameterNames
        graphInputName = inputName
        if let probe {
            guard probe.nodes.count == capture.nodes.count,
                  zip(probe.nodes, capture.nodes).allSatisfy({ $0.operation.name == $1.operation.name }) else {
                throw ExportError.batchDependentShape(
                    operation: "forward", module: "",
                    detail: "the forward pass runs different operations at batch \(batchSize) and \(probeBatchSize)")
            }
            probeNodes = probe.nodes
        } else {
            probeNodes = nil
        }
        readers = capture.readers
        names[ObjectIdentifier(input)] = inputName
        dimensions[ObjectIdentifier(input)] = [probeNodes == nil ? .fixed(batchSize) : .batch(1)]
            + input.shape.dropFirst().map { .fixed($0) }
    }

    /// Emits every node that depends on the input (or on the batch size).
    func translateAll() throws {
        for (index, node) in nodes.enumerated() where !absorbed.contains(index) {
            let readsGraph = node.inputs.contains { $0.map { names[ObjectIdentifier($0)] != nil } ?? false }
            guard readsGraph || outputDependsOnBatch(index) else { continue }
            if case .inPlace(let name) = node.operation {
                throw ExportError.unsupportedOperation(operation: name, module: node.scope,
                                                       detail: "an in-place write into a value computed from the input")
            }
            try translate(index, node)
        }
    }

    /// The ONNX name of a captured tensor: the emitted value, or an initializer with its value.
    func value(_ tensor: Tensor?, of index: Int) throws -> String {
        guard let tensor else { return "" }
        if let name = names[ObjectIdentifier(tensor)] { return name }
        let node = nodes[index]
        if let probeNodes, let slot = node.inputs.firstIndex(where: { $0 === tensor }),
           probeNodes[index].inputs[slot]?.shape != tensor.shape {
            throw ExportError.batchDependentShape(operation: node.operation.name, module: node.scope,
                                                  detail: "a constant input of shape \(tensor.shape) changes with the batch")
        }
        let name = parameterNames[ObjectIdentifier(tensor)] ?? ((node.scope.isEmpty ? "" : node.scope + ".") + "constant")
        return try builder.initializer(tensor, name: name)
    }

    /// Records `name` as the ONNX value of node `index`'s output `slot`.
    func bind(_ index: Int, slot: Int = 0, to name: String) throws {
        let tensor = nodes[index].outputs[slot]
        names[ObjectIdentifier(tensor)] = name
        dimensions[ObjectIdentifier(tensor)] = try outputDimensions(index, slot: slot)
    }

    /// The output shape of node `index` in batch terms.
    func outputDimensions(_ index: Int, slot: Int = 0) throws -> [Dimension] {
        let shape = nodes[index].outputs[slot].shape
        guard let probeNodes else { return shape.map { .fixed($0) } }
        let probe = probeNodes[index].outputs[slot].shape
        guard probe.count == shape.count else {
            throw ExportError.batchDependentShape(operation: nodes[index].operation.name, module: nodes[index].scope,
                                                  detail: "the output's rank changes with the batch")
        }
        return try zip(shape, probe).map { a, b in
            if a == b { return .fixed(a) }
            let step = probeBatchSize - batchSize
            guard (b - a) % step == 0, a == (b - a) / step * batchSize else {
                throw ExportError.batchDependentShape(
                    operation: nodes[index].operation.name, module: nodes[index].scope,
                    detail: "a dimension is \(a) at batch \(batchSize) and \(b) at batch \(probeBatchSize)")
            }
            return .batch((b - a) / step)
        }
    }

    private func outputDependsOnBatch(_ index: Int) -> Bool {
        guard let probeNodes else { return false }
        return zip(nodes[index].outputs, probeNodes[index].outputs).contains { $0.shape != $1.shape }
    }

    /// The dimensions of a captured tensor that was emitted (or the fixed shape of a constant).
    func dimensions(of tensor: Tensor) -> [Dimension] {
        dimensions[ObjectIdentifier(tensor)] ?? tensor.shape.map { .fixed($0) }
    }

    /// A 1-D int64 shape for Reshape: constant (with -1 for the one batch dimension) when it
    /// can be, else computed from the input's batch size at run time.
    func reshapeTarget(_ dims: [Dimension], scope: String) throws -> String {
        let batchDims = dims.indices.filter { if case .batch = dims[$0] { true } else { false } }
        if batchDims.count <= 1 {
            return try builder.int64s(dims.map { if case .fixed(let v) = $0 { v } else { -1 } }, name: scope + ".shape")
        }
        return try runtimeShape(dims, scope: scope)
    }

    /// A 1-D int64 shape built at run time: the fixed dimensions and k × the batch size.
    func runtimeShape(_ dims: [Dimension], scope: String) throws -> String {
        guard dims.contains(where: { if case .batch = $0 { true } else { false } }) else {
            return try builder.int64s(dims.map { if case .fixed(let v) = $0 { v } else { 0 } }, name: scope + ".shape")
        }
        let batch = try batchSizeVector()
        let parts: [String] = try dims.map { dim in
            switch dim {
            case .fixed(let v): return try builder.int64s([v], name: scope + ".dim")
            case .batch(1): return batch
            case .batch(let k): return builder.node("Mul", [batch, try builder.int64s([k], name: scope + ".factor")], scope: scope)
            }
        }
        return builder.node("Concat", parts, attributes: [Attribute.int("axis", 0)], scope: scope)
    }

    /// [N], the graph input's batch size, computed once.
    private func batchSizeVector() throws -> String {
        if let batchVector { return batchVector }
        let shape = builder.node("Shape", [graphInputName], scope: "batch")
        let starts = try builder.int64s([0], name: "batch.start"), ends = try builder.int64s([1], name: "batch.end")
        let vector = builder.node("Slice", [shape, starts, ends], scope: "batch")
        batchVector = vector
        return vector
    }

    /// A dimension's size when it is fixed; throws naming the operation otherwise.
    func fixedSize(_ dim: Dimension, _ node: CapturedNode, _ what: String) throws -> Int {
        guard case .fixed(let v) = dim else {
            throw ExportError.batchDependentShape(operation: node.operation.name, module: node.scope,
                                                  detail: "\(what) runs along the batch dimension")
        }
        return v
    }

    /// Whether an opset is available for an operation; throws naming the one needed.
    func require(opset needed: Int, _ operation: String, _ node: CapturedNode) throws {
        guard opset >= needed else {
            throw ExportError.opsetTooOld(operation: operation, module: node.scope, needed: needed, asked: opset)
        }
    }
}
