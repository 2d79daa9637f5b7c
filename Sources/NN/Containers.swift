import Costs
import Torch

// MARK: - structure

/// `nn.Dropout`: in training mode zeroes with probability `p` and scales by 1/(1-p), with masks
/// from its own `generator` (saved in training checkpoints); identity in evaluation mode.
public final class Dropout: Module {
    public let p: Double
    public var generator: Generator?

    public init(p: Double = 0.5, generator: Generator?) throws {
        guard p >= 0, p <= 1 else { throw ModuleError.invalidConfiguration(layer: "Dropout", detail: "probability must be in [0, 1], got \(p)") }
        self.p = p
        self.generator = generator
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard isTraining, p > 0 else { return x }
        return try Functional.dropout(x, p: p, training: true, generator: generator)
    }

    public override var localGenerators: [(name: String, generator: Generator)] {
        generator.map { [("generator", $0)] } ?? []
    }

    public override var extraDescription: String { "p=\(p)" }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        context.record(path: path, kind: "Dropout", input: input, output: input, parameters: 0, macs: 0)
        return input
    }
}

/// torchvision's `StochasticDepth` (Huang et al. 2016; Swin's drop path): in training mode
/// zeroes a residual branch with probability `p` and scales what survives by 1/(1-p) — per
/// sample (`row`) or for the whole batch (`batch`) — with masks from its own `generator`;
/// identity in evaluation mode or with p = 0.
public final class StochasticDepth: Module {
    public enum Mode: String, Sendable { case row, batch }
    public let p: Double
    public let mode: Mode
    public var generator: Generator?

    public init(p: Double, mode: Mode = .row, generator: Generator?) throws {
        guard p >= 0, p <= 1 else {
            throw ModuleError.invalidConfiguration(layer: "StochasticDepth", detail: "probability must be in [0, 1], got \(p)")
        }
        self.p = p
        self.mode = mode
        self.generator = generator
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard isTraining, p > 0 else { return x }
        let survival = 1 - p
        let shape = mode == .row ? [x.shape.first ?? 1] + [Int](repeating: 1, count: Swift.max(x.rank - 1, 0))
            : [Int](repeating: 1, count: x.rank)
        var keep = try Tensor.full(shape, survival, dtype: x.dtype).bernoulli(generator: generator)
        if survival > 0 { keep = try keep / survival }
        return try x * keep
    }

    public override var localGenerators: [(name: String, generator: Generator)] {
        generator.map { [("generator", $0)] } ?? []
    }

    public override var extraDescription: String { "p=\(p), mode=\(mode.rawValue)" }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        context.record(path: path, kind: "StochasticDepth", input: input, output: input, parameters: 0, macs: 0)
        return input
    }
}

/// torchvision's `Permute` (`torchvision.ops.misc.Permute`): reorders the dimensions.
public final class Permute: Module {
    public let dims: [Int]

    public init(_ dims: [Int]) {
        self.dims = dims
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try x.permute(dims) }

    public override var extraDescription: String { "\(dims)" }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        guard input.count == dims.count, Set(dims) == Set(0..<dims.count) else {
            throw ModuleError.inputShape(layer: "Permute", path: path, expected: "\(dims.count) dimensions", found: input)
        }
        return dims.map { input[$0] }
    }
}

/// `nn.Flatten` (dims `startDim` … `endDim`).
public final class Flatten: Module {
    public let startDim: Int
    public let endDim: Int

    public init(startDim: Int = 1, endDim: Int = -1) {
        self.startDim = startDim
        self.endDim = endDim
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try x.flatten(from: startDim, to: endDim) }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        let s = startDim < 0 ? input.count + startDim : startDim
        let e = endDim < 0 ? input.count + endDim : endDim
        guard s >= 0, e < input.count, s <= e else {
            throw ModuleError.inputShape(layer: "Flatten", path: path, expected: "dims \(startDim)…\(endDim) in range", found: input)
        }
        return Array(input[..<s]) + [input[s...e].reduce(1, *)] + Array(input[(e + 1)...])
    }
}

/// The identity; what a collapsed block becomes.
public final class Identity: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { x }
    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] { input }
}

/// `nn.Sequential`: children named "0", "1", … (or by the keys given) run in order. Its slots are untyped, so any
/// entry can be replaced (a collapsed block becomes an ``Identity`` in place).
public final class Sequential: Module {
    private var items: [Child<Module>] = []

    public init(_ modules: [Module]) {
        super.init()
        for m in modules { items.append(appendIndexedChild(m)) }
    }

    public convenience init(_ modules: Module...) { self.init(modules) }

    /// `nn.Sequential(OrderedDict(...))`: the modules under the given keys ("head",
    /// "encoder_layer_0", …), run in order. Throws for an invalid or repeated key.
    public init(named modules: [(name: String, module: Module)]) throws {
        super.init()
        for (name, module) in modules {
            let slot = Child<Module>(name, module)
            try register(contentsOf: [slot])
            items.append(slot)
        }
    }

    /// Appends a module under the next index.
    public func append(_ module: Module) { items.append(appendIndexedChild(module)) }

    public var count: Int { items.count }

    /// The entries, in order (replacements included).
    public var modules: [Module] { items.map(\.module) }

    /// The entries with their keys ("0", "1", …), in order.
    public var slots: [Child<Module>] { items }

    public subscript(index: Int) -> Module { items[index].module }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var h = x
        for item in items { h = try item.module(h) }
        return h
    }
}
