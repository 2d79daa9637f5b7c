import Foundation
import SwiftProtobuf
import Torch

/// Builds an ONNX graph: unique value names, nodes, initializers (each captured tensor once).
final class ONNXGraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    /// The dtype floating-point values are stored and computed in (float32 or float16).
    let floatDType: DType
    /// Its ONNX element type (FLOAT or FLOAT16).
    let floatType: Int32
    private var usedNames: Set<String> = []
    private var initializerNames: [ObjectIdentifier: String] = [:]
    /// Captured tensors kept alive while their identity names an initializer.
    private var keptTensors: [Tensor] = []

    init(floatDType: DType) throws {
        self.floatDType = floatDType
        floatType = try Self.elementType(exactly: floatDType)
    }

    /// A name not used yet, built from `base` ("layer1.0.conv1/Conv" → "layer1.0.conv1/Conv_2").
    func uniqueName(_ base: String) -> String {
        var name = base, n = 1
        while usedNames.contains(name) {
            n += 1
            name = "\(base)_\(n)"
        }
        usedNames.insert(name)
        return name
    }

    /// Appends a node named after its scope and operator, writing to `output` (or to a fresh
    /// name derived from the node's), and returns its output's name.
    @discardableResult
    func node(_ opType: String, _ inputs: [String], attributes: [Onnx_AttributeProto] = [], output: String? = nil,
              scope: String) -> String {
        var node = Onnx_NodeProto()
        node.opType = opType
        node.name = uniqueName((scope.isEmpty ? "" : scope + "/") + opType)
        node.input = inputs
        node.output = [output ?? uniqueName(node.name + ":0")]
        node.attribute = attributes
        nodes.append(node)
        return node.output[0]
    }

    /// The initializer holding `tensor`'s values (one per tensor object), named `name` or
    /// a fresh name. Floating-point values are stored as ``floatType``.
    func initializer(_ tensor: Tensor, name: String) throws -> String {
        if let existing = initializerNames[ObjectIdentifier(tensor)] { return existing }
        let unique = uniqueName(name)
        initializers.append(try tensorProto(tensor, name: unique))
        initializerNames[ObjectIdentifier(tensor)] = unique
        keptTensors.append(tensor)
        return unique
    }

    /// A new initializer from values computed here (not a captured tensor).
    func constant(_ tensor: Tensor, name: String) throws -> String {
        let unique = uniqueName(name)
        initializers.append(try tensorProto(tensor, name: unique))
        return unique
    }

    /// A 1-D int64 initializer (shapes, axes, pads).
    func int64s(_ values: [Int], name: String) throws -> String {
        try constant(Tensor(values.map(Int64.init), shape: [values.count]), name: name)
    }

    /// A 0-D floating-point initializer of ``floatType`` (a scalar operand).
    func scalar(_ value: Double, name: String) throws -> String {
        try constant(Tensor([Float(value)], shape: []), name: name)
    }

    /// The ONNX element type of a dtype (floating types become ``floatType``).
    func elementType(_ dtype: DType) throws -> Int32 {
        dtype.isFloatingPoint ? floatType : try Self.elementType(exactly: dtype)
    }

    static func elementType(exactly dtype: DType) throws -> Int32 {
        switch dtype {
        case .float32: 1
        case .uint8: 2
        case .int8: 3
        case .int16: 5
        case .int32: 6
        case .int64: 7
        case .bool: 9
        case .float16: 10
        case .float64: 11
        case .bfloat16: 16
        }
    }

    /// The tensor's values as an initializer (floating-point ones stored as ``floatDType``).
    func tensorProto(_ tensor: Tensor, name: String) throws -> Onnx_TensorProto {
        let stored: Tensor
        if tensor.dtype.isFloatingPoint {
            stored = try tensor.detach().to(floatDType)
        } else {
            stored = try tensor.detach()
        }
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dims = tensor.shape.map(Int64.init)
        proto.dataType = try Self.elementType(exactly: stored.dtype)
        proto.rawData = Data(try stored.contiguous().bytes())
        return proto
    }
}

/// Attribute constructors.
enum Attribute {
    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map(Int64.init)
        return a
    }

    static func float(_ name: String, _ value: Double) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = Float(value)
        return a
    }

    static func string(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }
}
