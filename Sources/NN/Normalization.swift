import Costs
import Torch

// MARK: - BatchNorm2d

/// `nn.BatchNorm2d`: parameters `weight` (1) and `bias` (0), buffers `running_mean`,
/// `running_var` and `num_batches_tracked` (int64). In training mode the batch statistics
/// normalize and the running ones move by `momentum` (nil: cumulative average); in evaluation
/// mode the running ones are used.
public final class BatchNorm2d: Module {
    public let featureCount: Int
    public let eps: Double
    /// The running statistics' update factor; nil = a cumulative average (what a statistics
    /// re-estimation pass sets).
    public var momentum: Double?
    public let affine: Bool
    public let tracksRunningStats: Bool
    /// In training mode, normalize with the statistics of every rank's batch together
    /// (SyncBatchNorm) instead of this process's batch alone.
    public var syncGroup: ProcessGroup?
    private let one: Tensor

    public var weight: Tensor? { affine ? localParameters[0] : nil }
    public var bias: Tensor? { affine ? localParameters[1] : nil }
    public var runningMean: Tensor? { tracksRunningStats ? localBuffers[0] : nil }
    public var runningVar: Tensor? { tracksRunningStats ? localBuffers[1] : nil }
    public var batchesTracked: Tensor? { tracksRunningStats ? localBuffers[2] : nil }

    public init(_ featureCount: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true) throws {
        guard featureCount > 0 else { throw ModuleError.invalidConfiguration(layer: "BatchNorm2d", detail: "feature count must be positive, got \(featureCount)") }
        self.featureCount = featureCount
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.tracksRunningStats = trackRunningStats
        self.one = try Tensor.ones([], dtype: .int64)
        super.init()
        if affine {
            try registerParameter("weight", Tensor.ones([featureCount]))
            try registerParameter("bias", Tensor.zeros([featureCount]))
        }
        if trackRunningStats {
            try registerBuffer("running_mean", Tensor.zeros([featureCount]))
            try registerBuffer("running_var", Tensor.ones([featureCount]))
            try registerBuffer("num_batches_tracked", Tensor.zeros([], dtype: .int64))
        }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var factor = momentum ?? 0
        if isTraining && tracksRunningStats {
            let counter = localBuffers[2]
            try counter.copy_(counter + one)
            if momentum == nil { factor = 1 / (try counter.item()) }
        }
        let useBatchStats = isTraining || !tracksRunningStats
        let w = affine ? localParameters[0] : nil
        let b = affine ? localParameters[1] : nil
        let rm = tracksRunningStats ? localBuffers[0] : nil
        let rv = tracksRunningStats ? localBuffers[1] : nil
        if isTraining, let syncGroup {
            return try syncGroup.syncBatchNorm(x, weight: w, bias: b, runningMean: rm, runningVar: rv, momentum: factor, eps: eps)
        }
        return try Functional.batchNorm(x, weight: w, bias: b, runningMean: rm, runningVar: rv,
                                        training: useBatchStats, momentum: factor, eps: eps)
    }

    /// Running mean 0, variance 1, no batches tracked (PyTorch's `reset_running_stats`).
    public func resetRunningStatistics() throws {
        guard tracksRunningStats else { return }
        try withNoGrad {
            try localBuffers[0].zero_()
            try localBuffers[1].fill_(1)
            try localBuffers[2].zero_()
        }
    }

    public override var extraDescription: String { "\(featureCount), eps=\(eps), momentum=\(momentum.map { "\($0)" } ?? "None")" }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        try expectRank(input, 4, "BatchNorm2d", path)
        guard input[1] == featureCount else {
            throw ModuleError.inputShape(layer: "BatchNorm2d", path: path, expected: "\(featureCount) channels", found: input)
        }
        let macs = context.convention == .ptflopsModules ? input.reduce(1, *) * (affine ? 2 : 1) : 0
        context.record(path: path, kind: "BatchNorm2d", input: input, output: input,
                       parameters: localParameters.reduce(0) { $0 + $1.elementCount }, macs: macs)
        return input
    }
}

// MARK: - LayerNorm

/// `nn.LayerNorm` over the last dimensions given by `normalizedShape`.
public final class LayerNorm: Module {
    public let normalizedShape: [Int]
    public let eps: Double
    public let affine: Bool

    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true) throws {
        guard !normalizedShape.isEmpty, normalizedShape.allSatisfy({ $0 > 0 }) else {
            throw ModuleError.invalidConfiguration(layer: "LayerNorm", detail: "invalid normalized shape \(normalizedShape)")
        }
        self.normalizedShape = normalizedShape
        self.eps = eps
        self.affine = elementwiseAffine
        super.init()
        if elementwiseAffine {
            try registerParameter("weight", Tensor.ones(normalizedShape))
            try registerParameter("bias", Tensor.zeros(normalizedShape))
        }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.layerNorm(x, normalizedShape: normalizedShape, weight: affine ? localParameters[0] : nil,
                                 bias: affine ? localParameters[1] : nil, eps: eps)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        guard input.count >= normalizedShape.count, Array(input.suffix(normalizedShape.count)) == normalizedShape else {
            throw ModuleError.inputShape(layer: "LayerNorm", path: path, expected: "trailing dimensions \(normalizedShape)", found: input)
        }
        let macs = context.convention == .ptflopsModules ? input.reduce(1, *) * (affine ? 2 : 1) : 0
        context.record(path: path, kind: "LayerNorm", input: input, output: input,
                       parameters: localParameters.reduce(0) { $0 + $1.elementCount }, macs: macs)
        return input
    }
}
