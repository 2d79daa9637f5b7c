import Foundation
import Torch

/// Each captured operation as ONNX operators (opset 13 and later).
extension CaptureTranslator {
    func translate(_ index: Int, _ node: CapturedNode) throws {
        switch node.operation {
        case .conv2d, .linear, .batchNorm, .layerNorm, .maxPool2d, .avgPool2d, .adaptiveAvgPool2d,
             .scaledDotProductAttention, .matmul:
            try translateLayer(index, node)
        case .unary, .binary, .binaryScalar, .clamp, .softmax, .logSoftmax, .toDType, .where:
            try translateElementwise(index, node)
        case .dropout(let p, let training):
            guard !training || p == 0 else {
                throw ExportError.unsupportedOperation(operation: "dropout", module: node.scope,
                                                       detail: "the model is in training mode (export runs it in evaluation mode)")
            }
            try bind(index, to: value(node.inputs[0], of: index))
        case .sameValues:
            try bind(index, to: value(node.inputs[0], of: index))
        case .reduce(let kind, let dims, let keepDim):
            try translateReduction(index, node, kind, dims: dims, keepDim: keepDim)
        case .inPlace(let name), .other(let name):
            throw ExportError.unsupportedOperation(operation: name, module: node.scope, detail: "no ONNX translation")
        default:
            try translateShape(index, node)
        }
    }

    /// Emits one node reading `inputs` and binds its output to node `index`'s.
    func emit(_ index: Int, _ opType: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = []) throws {
        let output = builder.node(opType, inputs, attributes: attributes, scope: nodes[index].scope)
        try bind(index, to: output)
    }

    // MARK: layers

    private func translateLayer(_ index: Int, _ node: CapturedNode) throws {
        let x = try value(node.inputs[0], of: index)
        switch node.operation {
        case .conv2d(let stride, let padding, let dilation, let groups):
            let (weight, bias, foldedNorm) = try convolutionParameters(index, node)
            let kernel = Array(node.inputs[1]!.shape.suffix(2))
            try emit(index, "Conv", [x, weight] + (bias.map { [$0] } ?? []), [
                Attribute.ints("kernel_shape", kernel), Attribute.ints("strides", stride),
                Attribute.ints("pads", padding + padding), Attribute.ints("dilations", dilation),
                Attribute.int("group", groups),
            ])
            // the folded BatchNorm's output is the convolution's
            if let foldedNorm, let output = names[ObjectIdentifier(node.outputs[0])] { try bind(foldedNorm, to: output) }
        case .linear:
            try translateLinear(index, node, x)
        case .batchNorm(let training, let eps):
            guard !training else {
                throw ExportError.unsupportedOperation(operation: "batchNorm", module: node.scope,
                                                       detail: "training-mode statistics (export runs in evaluation mode)")
            }
            let channels = node.inputs[0]!.shape[1]
            let scale = try node.inputs[1].map { try value($0, of: index) } ?? builder.constant(Tensor.ones([channels]), name: node.scope + ".weight")
            let shift = try node.inputs[2].map { try value($0, of: index) } ?? builder.constant(Tensor.zeros([channels]), name: node.scope + ".bias")
            try emit(index, "BatchNormalization",
                     [x, scale, shift, try value(node.inputs[3], of: index), try value(node.inputs[4], of: index)],
                     [Attribute.float("epsilon", eps)])
        case .layerNorm(let normalizedShape, let eps):
            try require(opset: 17, "LayerNormalization", node)
            let scale = try node.inputs[1].map { try value($0, of: index) } ?? builder.constant(Tensor.ones(normalizedShape), name: node.scope + ".weight")
            let shift = try node.inputs[2].map { try value($0, of: index) }
            try emit(index, "LayerNormalization", [x, scale] + (shift.map { [$0] } ?? []),
                     [Attribute.int("axis", -normalizedShape.count), Attribute.float("epsilon", eps)])
        case .maxPool2d(let kernel, let stride, let padding, let dilation, let ceilMode):
            try emit(index, "MaxPool", [x], [
                Attribute.ints("kernel_shape", kernel), Attribute.ints("strides", stride),
                Attribute.ints("pads", padding + padding), Attribute.ints("dilations", dilation),
                Attribute.int("ceil_mode", ceilMode ? 1 : 0),
            ])
        case .avgPool2d(let kernel, let stride, let padding, let ceilMode, let countIncludePad):
            try emit(index, "AveragePool", [x], [
                Attribute.ints("kernel_shape", kernel), Attribute.ints("strides", stride),
                Attribute.ints("pads", padding + padding), Attribute.int("ceil_mode", ceilMode ? 1 : 0),
                Attribute.int("count_include_pad", countIncludePad ? 1 : 0),
            ])
        case .adaptiveAvgPool2d(let outputSize):
            try translateAdaptivePool(index, node, x, outputSize: outputSize)
        case .scaledDotProductAttention(let dropout):
            try translateAttention(index, node, dropout: dropout)
        case .matmul:
            try emit(index, "MatMul", [x, try value(node.inputs[1], of: index)])
        default:
            throw ExportError.unsupportedOperation(operation: node.operation.name, module: node.scope, detail: "not a layer")
        }
    }

    /// The convolution's weight and bias, with the following BatchNorm folded in when the
    /// convolution's output feeds only it (that BatchNorm is then absorbed, and returned).
    private func convolutionParameters(_ index: Int, _ node: CapturedNode) throws -> (String, String?, Int?) {
        let weight = node.inputs[1]!, bias = node.inputs.count > 2 ? node.inputs[2] : nil
        let constantWeights = names[ObjectIdentifier(weight)] == nil && bias.map { names[ObjectIdentifier($0)] == nil } ?? true
        if constantWeights, let folded = try foldedBatchNorm(convolution: index) {
            absorbed.insert(folded.normIndex)
            let scope = node.scope
            let w = try builder.constant(folded.weight, name: (parameterNames[ObjectIdentifier(weight)] ?? scope + ".weight") + "_folded")
            let b = try builder.constant(folded.bias, name: scope + ".bias_folded")
            return (w, b, folded.normIndex)
        }
        return (try value(weight, of: index), try bias.map { try value($0, of: index) }, nil)
    }

    private func translateLinear(_ index: Int, _ node: CapturedNode, _ x: String) throws {
        let weight = node.inputs[1]!, bias = node.inputs.count > 2 ? node.inputs[2] : nil
        let b = try bias.map { try value($0, of: index) }
        if names[ObjectIdentifier(weight)] == nil, node.inputs[0]!.rank == 2 {
            try emit(index, "Gemm", [x, try value(weight, of: index)] + (b.map { [$0] } ?? []), [Attribute.int("transB", 1)])
            return
        }
        let transposed: String
        if names[ObjectIdentifier(weight)] == nil {
            let name = (parameterNames[ObjectIdentifier(weight)] ?? node.scope + ".weight") + "_t"
            transposed = try builder.constant(weight.detach().transpose(0, 1).contiguous(), name: name)
        } else {
            transposed = builder.node("Transpose", [try value(weight, of: index)], attributes: [Attribute.ints("perm", [1, 0])],
                                      scope: node.scope)
        }
        guard let b else { return try emit(index, "MatMul", [x, transposed]) }
        let product = builder.node("MatMul", [x, transposed], scope: node.scope)
        try emit(index, "Add", [product, b])
    }

    private func translateAdaptivePool(_ index: Int, _ node: CapturedNode, _ x: String, outputSize: [Int]) throws {
        if outputSize == [1, 1] { return try emit(index, "GlobalAveragePool", [x]) }
        let input = node.inputs[0]!.shape
        let (h, w) = (input[input.count - 2], input[input.count - 1])
        guard h % outputSize[0] == 0, w % outputSize[1] == 0 else {
            throw ExportError.unsupportedOperation(
                operation: "adaptiveAvgPool2d", module: node.scope,
                detail: "output \(outputSize) does not divide the input \(h)×\(w) (ONNX pools with one kernel size)")
        }
        let kernel = [h / outputSize[0], w / outputSize[1]]
        try emit(index, "AveragePool", [x], [Attribute.ints("kernel_shape", kernel), Attribute.ints("strides", kernel)])
    }

    /// softmax(q kᵀ / √E + mask) v, as MatMul, Mul, Add, Softmax, MatMul.
    private func translateAttention(_ index: Int, _ node: CapturedNode, dropout: Double) throws {
        guard dropout == 0 else {
            throw ExportError.unsupportedOperation(operation: "scaledDotProductAttention", module: node.scope,
                                                   detail: "attention dropout \(dropout) (export runs in evaluation mode)")
        }
        let query = node.inputs[0]!, key = node.inputs[1]!
        let scope = node.scope
        var perm = Array(0..<key.rank)
        perm.swapAt(key.rank - 2, key.rank - 1)
        let keyT = builder.node("Transpose", [try value(key, of: index)], attributes: [Attribute.ints("perm", perm)], scope: scope)
        let scores = builder.node("MatMul", [try value(query, of: index), keyT], scope: scope)
        let scale = try builder.scalar(1 / Double(query.shape.last!).squareRoot(), name: scope + ".scale")
        var logits = builder.node("Mul", [scores, scale], scope: scope)
        if node.inputs.count > 3, let mask = node.inputs[3] {
            guard mask.dtype.isFloatingPoint else {
                throw ExportError.unsupportedOperation(operation: "scaledDotProductAttention", module: scope,
                                                       detail: "a boolean attention mask")
            }
            logits = builder.node("Add", [logits, try value(mask, of: index)], scope: scope)
        }
        let weights = builder.node("Softmax", [logits], attributes: [Attribute.int("axis", -1)], scope: scope)
        try emit(index, "MatMul", [weights, try value(node.inputs[2], of: index)])
    }

    // MARK: element-wise

    private func translateElementwise(_ index: Int, _ node: CapturedNode) throws {
        let x = try value(node.inputs[0], of: index)
        let scope = node.scope
        switch node.operation {
        case .unary(let kind):
            try translateUnary(index, node, kind, x)
        case .binary(let kind):
            try emit(index, try binaryOperator(kind, node), [x, try value(node.inputs[1], of: index)])
        case .binaryScalar(let kind, let number):
            let dtype = node.inputs[0]!.dtype
            let constant = dtype.isFloatingPoint
                ? try builder.scalar(number, name: scope + ".number")
                : try builder.constant(Tensor([number], shape: []).to(dtype), name: scope + ".number")
            try emit(index, try binaryOperator(kind, node), [x, constant])
        case .clamp(let lo, let hi):
            let low = try lo.map { try builder.scalar($0, name: scope + ".min") } ?? ""
            let high = try hi.map { try builder.scalar($0, name: scope + ".max") } ?? ""
            try emit(index, "Clip", [x, low, high])
        case .softmax(let dim):
            try emit(index, "Softmax", [x], [Attribute.int("axis", dim)])
        case .logSoftmax(let dim):
            try emit(index, "LogSoftmax", [x], [Attribute.int("axis", dim)])
        case .toDType(let dtype):
            try emit(index, "Cast", [x], [Attribute.int("to", Int(try builder.elementType(dtype)))])
        case .where:
            try emit(index, "Where", [x, try value(node.inputs[1], of: index), try value(node.inputs[2], of: index)])
        default:
            throw ExportError.unsupportedOperation(operation: node.operation.name, module: scope, detail: "not element-wise")
        }
    }

    private func binaryOperator(_ kind: TensorOperation.Binary, _ node: CapturedNode) throws -> String {
        switch kind {
        case .add: "Add"
        case .sub: "Sub"
        case .mul: "Mul"
        case .div: "Div"
        case .pow: "Pow"
        case .maximum: "Max"
        case .minimum: "Min"
        default:
            throw ExportError.unsupportedOperation(operation: kind.rawValue, module: node.scope, detail: "no ONNX translation")
        }
    }

    private func translateUnary(_ index: Int, _ node: CapturedNode, _ kind: TensorOperation.Unary, _ x: String) throws {
        let scope = node.scope
        switch kind {
        case .relu: try emit(index, "Relu", [x])
        case .relu6:
            try emit(index, "Clip", [x, try builder.scalar(0, name: scope + ".min"), try builder.scalar(6, name: scope + ".max")])
        case .sigmoid: try emit(index, "Sigmoid", [x])
        case .tanh: try emit(index, "Tanh", [x])
        case .neg: try emit(index, "Neg", [x])
        case .abs: try emit(index, "Abs", [x])
        case .sqrt: try emit(index, "Sqrt", [x])
        case .exp: try emit(index, "Exp", [x])
        case .log: try emit(index, "Log", [x])
        case .rsqrt: try emit(index, "Reciprocal", [builder.node("Sqrt", [x], scope: scope)])
        case .square: try emit(index, "Mul", [x, x])
        case .gelu, .geluTanh:
            try translateGELU(index, node, x, tanh: kind == .geluTanh)
        default:
            throw ExportError.unsupportedOperation(operation: kind.rawValue, module: scope, detail: "no ONNX translation")
        }
    }

    /// GELU: the operator from opset 20, else its formula (erf, or the tanh approximation).
    private func translateGELU(_ index: Int, _ node: CapturedNode, _ x: String, tanh: Bool) throws {
        if opset >= 20 {
            return try emit(index, "Gelu", [x], [Attribute.string("approximate", tanh ? "tanh" : "none")])
        }
        let scope = node.scope
        let inner: String
        if tanh {
            // tanh(√(2/π) (x + 0.044715 x³))
            let cube = builder.node("Mul", [x, builder.node("Mul", [x, x], scope: scope)], scope: scope)
            let sum = builder.node("Add", [x, builder.node("Mul", [cube, try builder.scalar(0.044715, name: scope + ".gelu")],
                                                            scope: scope)], scope: scope)
            let scaled = builder.node("Mul", [sum, try builder.scalar((2 / Double.pi).squareRoot(), name: scope + ".gelu")], scope: scope)
            inner = builder.node("Tanh", [scaled], scope: scope)
        } else {
            let scaled = builder.node("Mul", [x, try builder.scalar(1 / 2.0.squareRoot(), name: scope + ".gelu")], scope: scope)
            inner = builder.node("Erf", [scaled], scope: scope)
        }
        let onePlus = builder.node("Add", [inner, try builder.scalar(1, name: scope + ".gelu")], scope: scope)
        let half = builder.node("Mul", [x, try builder.scalar(0.5, name: scope + ".gelu")], scope: scope)
        try emit(index, "Mul", [half, onePlus])
    }

    // MARK: reductions

    private func translateReduction(_ index: Int, _ node: CapturedNode, _ kind: TensorOperation.Reduction, dims: [Int],
                                    keepDim: Bool) throws {
        let x = try value(node.inputs[0], of: index)
        let opType: String
        switch kind {
        case .mean: opType = "ReduceMean"
        case .sum: opType = "ReduceSum"
        case .amax: opType = "ReduceMax"
        case .amin: opType = "ReduceMin"
        case .variance:
            throw ExportError.unsupportedOperation(operation: "variance", module: node.scope, detail: "no ONNX translation")
        }
        let keep = Attribute.int("keepdims", keepDim ? 1 : 0)
        // ReduceSum takes its axes as an input from opset 13, the others from opset 18.
        let axesAsInput = kind == .sum ? opset >= 13 : opset >= 18
        if dims.isEmpty { return try emit(index, opType, [x], [keep]) }
        if axesAsInput {
            try emit(index, opType, [x, try builder.int64s(dims, name: node.scope + ".axes")], [keep])
        } else {
            try emit(index, opType, [x], [Attribute.ints("axes", dims), keep])
        }
    }
}
