import NN
import Synchronization
import Torch

/// What an optimizer saves: hyper-parameters and counters as numbers, per-parameter state
/// tensors under "<slot>.<parameter key>" (e.g. "momentum_buffer.layer1.0.conv1.weight").
public struct OptimizerState: @unchecked Sendable {
    public var kind: String
    public var scalars: [String: Double]
    public var tensors: [NamedTensor]

    public init(kind: String, scalars: [String: Double], tensors: [NamedTensor]) {
        self.kind = kind
        self.scalars = scalars
        self.tensors = tensors
    }
}

/// A parameter optimizer. Create it with its hyper-parameters, bind it to a model with
/// ``attach(to:)`` (or create it with a parameter list), then call ``step()`` after each
/// backward pass. When the model's tensors change (a block collapsed, channels-last
/// conversion) an attached optimizer re-collects them on its next step, keeping the state of
/// every parameter whose key and shape survive.
public protocol Optimizer: AnyObject {
    /// The learning rate of the next step (schedules set it).
    var learningRate: Double { get set }
    /// A factor on the learning rate per parameter key (nil: 1 for all), e.g. a classifier head
    /// trained ten times faster than an imported backbone; read when the parameters are bound.
    var learningRateFactor: ((String) -> Double)? { get set }
    /// Binds the optimizer to every parameter of `module` (by key).
    func attach(to module: Module)
    /// Binds the optimizer to an explicit parameter list.
    func attach(parameters: [NamedTensor])
    /// One update of every parameter that has a gradient.
    func step() throws
    /// Drops the gradients of the bound parameters.
    func zeroGrad() throws
    /// Hyper-parameters, counters and per-parameter state, for checkpoints.
    func state() throws -> OptimizerState
    /// Restores ``state()`` (the optimizer must be attached to the same parameters).
    func load(state: OptimizerState) throws
}

/// The parameter list of an optimizer: either fixed, or a module's, re-read when the module
/// tree changes.
final class ParameterBinding {
    private(set) var module: Module?
    private(set) var names: [String] = []
    private(set) var tensors: [Tensor] = []
    /// Stable identities (module-bound) or positions (fixed lists): state follows them.
    private(set) var ids: [Int] = []
    private var generation = -1

    func attach(to module: Module) {
        self.module = module
        generation = -1
    }

    func attach(parameters: [NamedTensor]) {
        module = nil
        names = parameters.map(\.name)
        tensors = parameters.map(\.tensor)
        ids = Array(parameters.indices)
        generation = -1
    }

    var isBound: Bool { module != nil || !tensors.isEmpty }

    /// Re-reads the module's parameters if the tree changed. Returns the previous identities
    /// when it did, so the caller can carry its state over.
    func refresh() -> [Int]? {
        guard let module else {
            if generation == -1 { generation = 0; return [] }
            return nil
        }
        let now = structureGeneration.load(ordering: .relaxed)
        guard now != generation else { return nil }
        let previous = ids
        let named = module.identifiedParameters().filter { $0.tensor.requiresGrad }
        names = named.map(\.name)
        tensors = named.map(\.tensor)
        ids = named.map(\.id)
        generation = now
        return previous
    }
}

/// Carries per-parameter state across a re-binding: by parameter identity (a replaced layer's
/// parameters are new and start fresh; a converted one keeps its state), converted to the new
/// tensor's memory layout.
func remap(_ state: [Tensor?], from oldIDs: [Int], to newIDs: [Int], tensors: [Tensor]) throws -> [Tensor?] {
    var byID: [Int: Tensor] = [:]
    for (i, id) in oldIDs.enumerated() where i < state.count { if let s = state[i] { byID[id] = s } }
    var out: [Tensor?] = []
    out.reserveCapacity(newIDs.count)
    for (i, id) in newIDs.enumerated() {
        guard let s = byID[id], s.shape == tensors[i].shape else { out.append(nil); continue }
        let p = tensors[i]
        if p.rank == 4 && p.isContiguous(.channelsLast) && !s.isContiguous(.channelsLast) {
            out.append(try s.contiguous(.channelsLast))
        } else if p.rank == 4 && p.isContiguous(.contiguous) && !s.isContiguous(.contiguous) {
            out.append(try s.contiguous(.contiguous))
        } else {
            out.append(s)
        }
    }
    return out
}

private func checkFinite(_ values: [String: Double], _ kind: String) throws {
    for (k, v) in values where !v.isFinite || v < 0 {
        throw NNError("\(kind): \(k) must be a finite non-negative number, got \(v)")
    }
}

private func unbound(_ kind: String) -> NNError {
    NNError("\(kind) has no parameters: call attach(to: model) (or create it with parameters:) before step()")
}

// MARK: - SGD

/// Stochastic gradient descent with PyTorch's exact rule (`torch.optim.SGD`):
/// g ← g + wd·p; b ← μ·b + (1−τ)·g (b = g on the first step); g ← g + μ·b (Nesterov) or b;
/// p ← p − lr·g.
///
/// ```swift
/// let sgd = try SGD(lr: 0.1, momentum: 0.9, weightDecay: 1e-4)
/// sgd.attach(to: model)
/// ```
public final class SGD: Optimizer {
    public var learningRate: Double
    public let momentum: Double
    public let dampening: Double
    public let weightDecay: Double
    public let nesterov: Bool
    /// The parameters weight decay applies to (all by default).
    public var weightDecayScope: WeightDecayScope = .all
    /// A factor on the learning rate per parameter key (nil: 1 for all), e.g. a classifier head
    /// trained ten times faster than an imported backbone.
    public var learningRateFactor: ((String) -> Double)?

    private let binding = ParameterBinding()
    private var buffers: [Tensor?] = []

    public init(lr: Double, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
                nesterov: Bool = false) throws {
        try checkFinite(["lr": lr, "momentum": momentum, "dampening": dampening, "weight decay": weightDecay], "SGD")
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw NNError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
        }
        self.learningRate = lr
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public convenience init(parameters: [NamedTensor], lr: Double, momentum: Double = 0, dampening: Double = 0,
                            weightDecay: Double = 0, nesterov: Bool = false) throws {
        try self.init(lr: lr, momentum: momentum, dampening: dampening, weightDecay: weightDecay, nesterov: nesterov)
        attach(parameters: parameters)
    }

    public func attach(to module: Module) { binding.attach(to: module) }
    public func attach(parameters: [NamedTensor]) { binding.attach(parameters: parameters) }

    private func sync() throws {
        guard let previous = binding.refresh() else { return }
        buffers = try remap(buffers, from: previous, to: binding.ids, tensors: binding.tensors)
    }

    public func step() throws {
        guard binding.isBound else { throw unbound("SGD") }
        try sync()
        try checkGradients(names: binding.names, tensors: binding.tensors)
        let groups = parameterGroups(names: binding.names, tensors: binding.tensors, weightDecay: weightDecay,
                                     scope: weightDecayScope, learningRateFactor: learningRateFactor)
        var states = [buffers]
        try updateByGroup(groups, tensors: binding.tensors, states: &states) { params, state, group in
            try FusedUpdate.sgd(parameters: params, buffers: &state[0], lr: learningRate * group.learningRateFactor,
                                momentum: momentum, dampening: dampening, weightDecay: group.weightDecay, nesterov: nesterov)
        }
        buffers = states[0]
    }

    public func zeroGrad() throws {
        try sync()
        for p in binding.tensors { try p.zeroGrad() }
    }

    /// The momentum buffer of a parameter key, once created.
    public func momentumBuffer(for key: String) throws -> Tensor? {
        try sync()
        return binding.names.firstIndex(of: key).flatMap { buffers[$0] }
    }

    public func state() throws -> OptimizerState {
        try sync()
        var tensors: [NamedTensor] = []
        for (i, name) in binding.names.enumerated() { if let b = buffers[i] { tensors.append(("momentum_buffer." + name, b)) } }
        return OptimizerState(kind: "SGD", scalars: ["lr": learningRate, "momentum": momentum, "dampening": dampening,
                                                     "weight_decay": weightDecay, "nesterov": nesterov ? 1 : 0],
                              tensors: tensors)
    }

    public func load(state: OptimizerState) throws {
        guard state.kind == "SGD" else { throw NNError("cannot load \(state.kind) optimizer state into SGD") }
        try sync()
        if let lr = state.scalars["lr"] { learningRate = lr }
        let byName = Dictionary(state.tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        var restored = [Tensor?](repeating: nil, count: binding.names.count)
        for (i, name) in binding.names.enumerated() {
            guard let b = byName["momentum_buffer." + name] else { continue }
            guard b.shape == binding.tensors[i].shape else {
                throw NNError("SGD state: momentum buffer of \(name) has shape \(b.shape), parameter \(binding.tensors[i].shape)")
            }
            let copy = try binding.tensors[i].detach().clone()
            try copy.copy_(b)
            restored[i] = copy
        }
        let known = Set(binding.names.map { "momentum_buffer." + $0 })
        if let stray = state.tensors.first(where: { !known.contains($0.name) }) {
            throw NNError("SGD state holds \"\(stray.name)\", which matches no parameter")
        }
        buffers = restored
    }
}

// MARK: - AdamW

/// AdamW with PyTorch's exact rule (`torch.optim.AdamW`, decoupled weight decay):
/// p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
/// One step counter serves all parameters (PyTorch keeps one per parameter; they differ only
/// for parameters that miss gradients on some steps).
public final class AdamW: Optimizer {
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let eps: Double
    public let weightDecay: Double
    /// The parameters weight decay applies to (all by default).
    public var weightDecayScope: WeightDecayScope = .all
    /// A factor on the learning rate per parameter key (nil: 1 for all), e.g. a classifier head
    /// trained ten times faster than an imported backbone.
    public var learningRateFactor: ((String) -> Double)?
    /// AdamW's decoupled decay (p ← p·(1 − lr·wd)); false = Adam's L2 penalty added to the
    /// gradient (`torch.optim.Adam`).
    public var decoupledWeightDecay = true
    public private(set) var stepCount = 0

    private let binding = ParameterBinding()
    private var expAvg: [Tensor?] = []
    private var expAvgSq: [Tensor?] = []

    public init(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                weightDecay: Double = 1e-2) throws {
        try checkFinite(["lr": lr, "eps": eps, "weight decay": weightDecay], "AdamW")
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw NNError("AdamW: betas must be in [0, 1), got (\(beta1), \(beta2))")
        }
        self.learningRate = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    public convenience init(parameters: [NamedTensor], lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                            eps: Double = 1e-8, weightDecay: Double = 1e-2) throws {
        try self.init(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
        attach(parameters: parameters)
    }

    public func attach(to module: Module) { binding.attach(to: module) }
    public func attach(parameters: [NamedTensor]) { binding.attach(parameters: parameters) }

    private func sync() throws {
        guard let previous = binding.refresh() else { return }
        expAvg = try remap(expAvg, from: previous, to: binding.ids, tensors: binding.tensors)
        expAvgSq = try remap(expAvgSq, from: previous, to: binding.ids, tensors: binding.tensors)
    }

    public func step() throws {
        guard binding.isBound else { throw unbound("AdamW") }
        try sync()
        try checkGradients(names: binding.names, tensors: binding.tensors)
        stepCount += 1
        var done = false
        defer { if !done { stepCount -= 1 } }   // a failed step does not count
        let groups = parameterGroups(names: binding.names, tensors: binding.tensors, weightDecay: weightDecay,
                                     scope: weightDecayScope, learningRateFactor: learningRateFactor)
        var states = [expAvg, expAvgSq]
        try updateByGroup(groups, tensors: binding.tensors, states: &states) { params, state, group in
            var (m, v) = (state[0], state[1])
            if !decoupledWeightDecay, group.weightDecay != 0 {
                // Adam's L2 penalty: the decay joins the gradient before the moments
                for p in params { if let g = try p.grad { try g.add_(p.detach(), alpha: group.weightDecay) } }
            }
            try FusedUpdate.adamW(parameters: params, expAvg: &m, expAvgSq: &v, step: stepCount,
                                  lr: learningRate * group.learningRateFactor, beta1: beta1, beta2: beta2, eps: eps,
                                  weightDecay: decoupledWeightDecay ? group.weightDecay : 0)
            state = [m, v]
        }
        expAvg = states[0]
        expAvgSq = states[1]
        done = true
    }

    public func zeroGrad() throws {
        try sync()
        for p in binding.tensors { try p.zeroGrad() }
    }

    public func state() throws -> OptimizerState {
        try sync()
        var tensors: [NamedTensor] = []
        for (i, name) in binding.names.enumerated() {
            if let m = expAvg[i] { tensors.append(("exp_avg." + name, m)) }
            if let v = expAvgSq[i] { tensors.append(("exp_avg_sq." + name, v)) }
        }
        return OptimizerState(kind: "AdamW", scalars: ["lr": learningRate, "beta1": beta1, "beta2": beta2, "eps": eps,
                                                       "weight_decay": weightDecay, "step": Double(stepCount)],
                              tensors: tensors)
    }

    public func load(state: OptimizerState) throws {
        guard state.kind == "AdamW" else { throw NNError("cannot load \(state.kind) optimizer state into AdamW") }
        try sync()
        if let lr = state.scalars["lr"] { learningRate = lr }
        let step = state.scalars["step"] ?? 0
        guard step.isFinite, step >= 0, step <= 1e15, step == step.rounded() else {
            throw NNError("AdamW state: step count must be a whole number ≥ 0, got \(step)")
        }
        stepCount = Int(step)
        let byName = Dictionary(state.tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        var m = [Tensor?](repeating: nil, count: binding.names.count)
        var v = m
        for (i, name) in binding.names.enumerated() {
            for (slot, key) in [(0, "exp_avg." + name), (1, "exp_avg_sq." + name)] {
                guard let t = byName[key] else { continue }
                guard t.shape == binding.tensors[i].shape else {
                    throw NNError("AdamW state: \(key) has shape \(t.shape), parameter \(binding.tensors[i].shape)")
                }
                let copy = try binding.tensors[i].detach().clone()
                try copy.copy_(t)
                if slot == 0 { m[i] = copy } else { v[i] = copy }
            }
        }
        let known = Set(binding.names.flatMap { ["exp_avg." + $0, "exp_avg_sq." + $0] })
        if let stray = state.tensors.first(where: { !known.contains($0.name) }) {
            throw NNError("AdamW state holds \"\(stray.name)\", which matches no parameter")
        }
        expAvg = m
        expAvgSq = v
    }
}

/// Every gradient has its parameter's shape and dtype — checked before a step changes anything,
/// so a bad one leaves all parameters and state as they were (the shim checks the rest).
func checkGradients(names: [String], tensors: [Tensor]) throws {
    for (name, p) in zip(names, tensors) {
        guard let g = try p.grad else { continue }
        guard g.shape == p.shape, g.dtype == p.dtype else {
            throw NNError("the gradient of \(name) (\(g.shape), \(g.dtype)) does not match the parameter (\(p.shape), \(p.dtype)); no parameter was updated")
        }
    }
}
