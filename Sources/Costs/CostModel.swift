/// How multiply-accumulate operations are counted. Both follow ptflops
/// (github.com/sovrasov/flops-counter.pytorch); the reference's LaCoOT figures (ResNet-18
/// CIFAR: 140.19 M, 64.69 M with the four `layerX.1` blocks removed) are the `aten` ones.
public enum MACConvention: String, Codable, Sendable, CaseIterable {
    /// ptflops' default `aten` backend: convolutions (out elements × in/groups × kh × kw) and
    /// matrix products (batch × in × out) only; biases, normalization, activations, pooling and
    /// additions count zero.
    case ptflopsAten
    /// ptflops' legacy `pytorch` (module-hook) backend: convolutions and linear layers with
    /// their bias, BatchNorm/LayerNorm 2 × input elements (1 without affine), ReLU/ReLU6/GELU
    /// one per output element, pooling one per input element; residual additions count zero.
    case ptflopsModules
}

/// One leaf layer's cost for the analyzed input.
public struct LayerCost: Codable, Sendable, Hashable {
    /// Dotted path, e.g. "layer1.0.conv1".
    public var name: String
    /// Layer type, e.g. "Conv2d".
    public var kind: String
    public var inputShape: [Int]
    public var outputShape: [Int]
    public var parameters: Int
    public var macs: Int
}

/// The state threaded through ``CostAnalyzable/analyze(_:path:context:)``.
public struct CostContext: Sendable {
    public let convention: MACConvention
    public private(set) var layers: [LayerCost] = []
    /// Input shape of every module visited, by path.
    public var moduleInputShapes: [String: [Int]] = [:]
    /// Output shape of every module visited, by path.
    public var moduleOutputShapes: [String: [Int]] = [:]

    public init(convention: MACConvention) { self.convention = convention }

    /// Records a leaf layer.
    public mutating func record(path: String, kind: String, input: [Int], output: [Int], parameters: Int, macs: Int) {
        layers.append(LayerCost(name: path, kind: kind, inputShape: input, outputShape: output, parameters: parameters,
                                macs: macs))
    }
}

/// Parameters and MACs of a model for one input size, per layer and in total.
public struct CostReport: Codable, Sendable, Hashable {
    public var convention: MACConvention
    /// The analyzed input, with batch dimension (1).
    public var inputShape: [Int]
    public var outputShape: [Int]
    public var layers: [LayerCost]
    /// All parameters of the model (what `sum(p.numel())` gives).
    public var parameters: Int
    /// Sum of the layers' MACs.
    public var macs: Int
    /// Input shape of every module (by dotted path), for block listings.
    public var moduleInputShapes: [String: [Int]]
    public var moduleOutputShapes: [String: [Int]]

    /// Same as ``macs``.
    public var totalMACs: Int { macs }
    /// Same as ``parameters``.
    public var totalParameters: Int { parameters }

    /// MACs in millions.
    public var megaMACs: Double { Double(macs) / 1e6 }

    /// MACs of the layers under a module path ("layer1.1").
    public func macs(under path: String) -> Int {
        layers.filter { $0.name == path || $0.name.hasPrefix(path + ".") }.reduce(0) { $0 + $1.macs }
    }

    /// Parameters of the layers under a module path.
    public func parameters(under path: String) -> Int {
        layers.filter { $0.name == path || $0.name.hasPrefix(path + ".") }.reduce(0) { $0 + $1.parameters }
    }
}

/// What the cost model analyzes: a module tree (NN's `Module` conforms). Each layer counts
/// its own cost in its `analyze` (a convolution's MACs, an activation's elements), and
/// composite modules run their children in the order their forward pass does.
public protocol CostAnalyzable: AnyObject {
    /// Every parameter's element count, summed.
    var parameterCount: Int { get }
    /// Propagates an input shape (with batch dimension) through the module, recording each
    /// leaf layer's parameters and MACs in `context`; returns the output shape.
    func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int]
}

/// A cost analysis that cannot run (the message says why).
public struct CostError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Counts parameters and MACs analytically (no tensor is computed) — collapsed blocks are
/// identities and cost nothing.
///
/// ```swift
/// let report = try CostModel.analyze(model, input: [3, 32, 32])
/// print(report.megaMACs)   // 140.19 for the CIFAR ResNet-18
/// ```
public enum CostModel {
    /// Analyzes `module` for one sample of shape `input` (without the batch dimension).
    public static func analyze(_ module: some CostAnalyzable, input: [Int],
                               convention: MACConvention = .ptflopsAten) throws -> CostReport {
        guard !input.isEmpty, input.allSatisfy({ $0 > 0 }) else {
            throw CostError("cost analysis needs a positive input shape, got \(input)")
        }
        var context = CostContext(convention: convention)
        let batched = [1] + input
        context.moduleInputShapes[""] = batched
        let output = try module.analyze(batched, path: "", context: &context)
        context.moduleOutputShapes[""] = output
        return CostReport(convention: convention, inputShape: batched, outputShape: output, layers: context.layers,
                          parameters: module.parameterCount, macs: context.layers.reduce(0) { $0 + $1.macs },
                          moduleInputShapes: context.moduleInputShapes, moduleOutputShapes: context.moduleOutputShapes)
    }
}
