import Synchronization
import Torch

/// An error raised by the neural-network layer (bad names, shapes, files), with a message that
/// says what went wrong and where.
public struct NNError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A named tensor, the unit of state dicts and checkpoints (ordered lists keep PyTorch's order).
public typealias NamedTensor = (name: String, tensor: Tensor)

/// Bumped whenever any module tree changes which tensors it holds (a child replaced, a
/// parameter swapped for a channels-last copy). Optimizers bound to a module compare it to
/// re-collect their parameter list only when something changed.
let structureGeneration = Atomic<Int>(0)

/// Source of parameter identities: a registered parameter keeps its identity when its tensor
/// is swapped for a converted copy (channels-last), so optimizer state follows it; a newly
/// registered parameter (a replaced layer) gets a new one.
let parameterIdentities = Atomic<Int>(0)

func bumpStructureGeneration() { structureGeneration.add(1, ordering: .relaxed) }

/// The base class of every layer and model.
///
/// A module owns named parameters (trained tensors), named buffers (state such as BatchNorm's
/// running statistics) and named child modules, all in registration order, so the keys of
/// ``stateDict()`` are PyTorch's (`layer1.0.conv1.weight`, `bn1.running_mean`). Subclasses
/// register what they own in their initializer and override ``forward(_:)``; composite
/// modules call their children through ``children`` so that a child swapped with
/// ``replace(_:with:)`` (how a block is collapsed) takes effect at once.
///
/// ```swift
/// final class TwoLayer: Module {
///     init(generator: Generator) throws {
///         super.init()
///         try registerModule("fc1", Linear(4, 8, generator: generator))
///         try registerModule("act", ReLU())
///         try registerModule("fc2", Linear(8, 2, generator: generator))
///     }
///     override func forward(_ x: Tensor) throws -> Tensor {
///         try children[2](children[1](children[0](x)))
///     }
/// }
/// ```
open class Module {
    /// Names of this module's own parameters, in registration order.
    public private(set) var localParameterNames: [String] = []
    /// This module's own parameters (not its children's), in registration order.
    public private(set) var localParameters: [Tensor] = []
    /// Stable identities of the local parameters (see `parameterIdentities`).
    private(set) var localParameterIDs: [Int] = []
    public private(set) var localBufferNames: [String] = []
    public private(set) var localBuffers: [Tensor] = []
    /// Names of the direct children, in registration order.
    public private(set) var childNames: [String] = []
    /// The direct children, in registration order (read them by index in `forward`).
    public private(set) var children: [Module] = []
    /// Training mode (the default) or evaluation mode, set on the whole tree by ``train(_:)``.
    public private(set) var isTraining = true
    /// The layout 4-D parameters are kept in; models convert their input to it at entry.
    public private(set) var memoryFormat: MemoryFormat = .contiguous

    public init() {}

    /// The layer's type as printed in reports ("Conv2d", "BasicBlock").
    open var typeName: String { String(describing: type(of: self)) }

    /// Layer settings shown in ``description`` ("3, 64, kernel=(3, 3)").
    open var extraDescription: String { "" }

    // MARK: registration

    private func checkNewName(_ name: String) throws {
        guard !name.isEmpty, !name.contains(".") else {
            throw NNError("\(typeName): invalid member name \"\(name)\" (must be non-empty and contain no '.')")
        }
        guard !localParameterNames.contains(name), !localBufferNames.contains(name), !childNames.contains(name) else {
            throw NNError("\(typeName): a member named \"\(name)\" is already registered")
        }
    }

    /// Registers a parameter (made a leaf that requires grad unless `requiresGrad` is false)
    /// and returns its index in ``localParameters``.
    @discardableResult
    public final func registerParameter(_ name: String, _ tensor: Tensor, requiresGrad: Bool = true) throws -> Int {
        try checkNewName(name)
        let leaf = tensor.requiresGrad == requiresGrad ? tensor : try tensor.detach().requiresGrad(requiresGrad)
        localParameterNames.append(name)
        localParameters.append(leaf)
        localParameterIDs.append(parameterIdentities.add(1, ordering: .relaxed).newValue)
        bumpStructureGeneration()
        return localParameters.count - 1
    }

    /// Registers a buffer (saved in the state dict, never trained); returns its index.
    @discardableResult
    public final func registerBuffer(_ name: String, _ tensor: Tensor) throws -> Int {
        try checkNewName(name)
        localBufferNames.append(name)
        localBuffers.append(tensor)
        return localBuffers.count - 1
    }

    /// Registers a child module and returns it.
    @discardableResult
    public final func registerModule<M: Module>(_ name: String, _ module: M) throws -> M {
        try checkNewName(name)
        childNames.append(name)
        children.append(module)
        bumpStructureGeneration()
        return module
    }

    /// Appends a child named by its position ("0", "1", …), as `nn.Sequential` names them.
    final func appendIndexedChild(_ module: Module) {
        childNames.append(String(children.count))
        children.append(module)
        bumpStructureGeneration()
    }

    /// Replaces this module's own parameter at `index` (same shape) — e.g. by a channels-last copy.
    public final func setLocalParameter(at index: Int, _ tensor: Tensor) throws {
        guard localParameters.indices.contains(index) else {
            throw NNError("\(typeName): no parameter at index \(index)")
        }
        guard tensor.shape == localParameters[index].shape else {
            throw NNError("\(typeName).\(localParameterNames[index]): shape \(tensor.shape) given for \(localParameters[index].shape)")
        }
        localParameters[index] = tensor
        bumpStructureGeneration()
    }

    // MARK: forward

    /// The module's computation. Composite modules override it and call their children.
    open func forward(_ x: Tensor) throws -> Tensor {
        throw NNError("\(typeName) does not implement forward(_:)")
    }

    public final func callAsFunction(_ x: Tensor) throws -> Tensor { try forward(x) }

    // MARK: traversal

    /// This module and every descendant, depth first in registration order, with dotted paths
    /// ("" for this module).
    public final func namedModules() -> [(name: String, module: Module)] {
        var out: [(name: String, module: Module)] = []
        collectModules(prefix: "", into: &out)
        return out
    }

    private func collectModules(prefix: String, into out: inout [(name: String, module: Module)]) {
        out.append((prefix, self))
        for (i, child) in children.enumerated() {
            child.collectModules(prefix: prefix.isEmpty ? childNames[i] : prefix + "." + childNames[i], into: &out)
        }
    }

    /// Every parameter of the tree with its PyTorch key, in PyTorch's order.
    public final func namedParameters() -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (path, module) in namedModules() {
            for (i, name) in module.localParameterNames.enumerated() {
                out.append((path.isEmpty ? name : path + "." + name, module.localParameters[i]))
            }
        }
        return out
    }

    /// Every parameter with its key and stable identity (for optimizers).
    func identifiedParameters() -> [(name: String, tensor: Tensor, id: Int)] {
        var out: [(name: String, tensor: Tensor, id: Int)] = []
        for (path, module) in namedModules() {
            for (i, name) in module.localParameterNames.enumerated() {
                out.append((path.isEmpty ? name : path + "." + name, module.localParameters[i], module.localParameterIDs[i]))
            }
        }
        return out
    }

    /// Every buffer of the tree with its PyTorch key.
    public final func namedBuffers() -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (path, module) in namedModules() {
            for (i, name) in module.localBufferNames.enumerated() {
                out.append((path.isEmpty ? name : path + "." + name, module.localBuffers[i]))
            }
        }
        return out
    }

    /// Every parameter of the tree, in the order of ``namedParameters()``.
    public final func parameterTensors() -> [Tensor] { namedParameters().map(\.tensor) }

    /// The state dict as PyTorch orders it: for each module (depth first), its parameters
    /// then its buffers. The tensors are the live ones (not copies).
    public final func stateDict() -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (path, module) in namedModules() {
            let prefix = path.isEmpty ? "" : path + "."
            for (i, name) in module.localParameterNames.enumerated() { out.append((prefix + name, module.localParameters[i])) }
            for (i, name) in module.localBufferNames.enumerated() { out.append((prefix + name, module.localBuffers[i])) }
        }
        return out
    }

    /// Number of scalar parameters in the tree (trainable or not), as `sum(p.numel())`.
    public final var parameterCount: Int {
        namedModules().reduce(0) { total, entry in
            total + entry.module.localParameters.reduce(0) { $0 + $1.elementCount }
        }
    }

    /// The descendant at a dotted path ("layer2.1", "features.3.conv.0"), or self for "".
    public final func module(at path: String) -> Module? {
        if path.isEmpty { return self }
        var current: Module = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let i = current.childNames.firstIndex(of: String(part)) else { return nil }
            current = current.children[i]
        }
        return current
    }

    /// Replaces the descendant at `path` with `module` (which takes this tree's mode and memory
    /// format) and returns the module it replaced. Every other key of the state dict is kept.
    @discardableResult
    public final func replace(_ path: String, with module: Module) throws -> Module {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let last = parts.last, !path.isEmpty else { throw NNError("replace: empty module path") }
        let parentPath = parts.dropLast().joined(separator: ".")
        guard let parent = self.module(at: parentPath), let i = parent.childNames.firstIndex(of: last) else {
            let known = namedModules().map(\.name).filter { !$0.isEmpty }
            let hint = known.filter { $0.hasPrefix(parentPath) }.prefix(12).joined(separator: ", ")
            throw NNError("no module at \"\(path)\" in \(typeName)" + (hint.isEmpty ? "" : " (e.g. \(hint))"))
        }
        let old = parent.children[i]
        module.train(parent.isTraining)
        if parent.memoryFormat != module.memoryFormat { try module.setMemoryFormat(parent.memoryFormat) }
        parent.children[i] = module
        bumpStructureGeneration()
        return old
    }

    // MARK: modes

    /// Sets training (true) or evaluation (false) mode on the whole tree.
    public final func train(_ on: Bool = true) {
        isTraining = on
        for child in children { child.train(on) }
    }

    /// Evaluation mode on the whole tree (BatchNorm uses running statistics, Dropout is off).
    public final func eval() { train(false) }

    /// Converts every 4-D parameter and buffer of the tree to `format` (they stay leaf tensors
    /// that require grad) and records the format, so models convert their input at entry.
    /// Optimizers bound with `attach(to:)` pick up the new tensors on their next step.
    public final func setMemoryFormat(_ format: MemoryFormat) throws {
        for (_, module) in namedModules() {
            module.memoryFormat = format
            for i in module.localParameters.indices {
                let p = module.localParameters[i]
                guard p.rank == 4, !p.isContiguous(format) else { continue }
                let converted = try withNoGrad { try p.detach().contiguous(format) }
                try converted.requiresGrad(p.requiresGrad)
                module.localParameters[i] = converted
            }
            for i in module.localBuffers.indices {
                let b = module.localBuffers[i]
                guard b.rank == 4, !b.isContiguous(format) else { continue }
                module.localBuffers[i] = try b.contiguous(format)
            }
        }
        bumpStructureGeneration()
    }

    /// Drops every parameter's gradient (`zero_grad(set_to_none=True)`).
    public final func zeroGrad() throws {
        for p in parameterTensors() { try p.zeroGrad() }
    }

    // MARK: random generators held by layers (Dropout), for checkpoints

    /// Generators this module itself holds (not its children's), by local name.
    open var localGenerators: [(name: String, generator: Generator)] { [] }

    /// Every generator held in the tree, with dotted keys ("classifier.0.generator").
    public final func namedGenerators() -> [(name: String, generator: Generator)] {
        var out: [(name: String, generator: Generator)] = []
        for (path, module) in namedModules() {
            for (name, g) in module.localGenerators { out.append((path.isEmpty ? name : path + "." + name, g)) }
        }
        return out
    }

    // MARK: cost analysis

    /// Propagates an input shape (with batch dimension) through the module, recording each
    /// leaf layer's parameters and MACs in `context`; returns the output shape. Leaf layers and
    /// composite modules with a non-sequential topology override it; the default runs the
    /// children in order (right for `Sequential`-like modules).
    open func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        var shape = input
        for i in children.indices {
            shape = try analyzeChild(i, shape, path: path, context: &context)
        }
        return shape
    }

    /// Analyzes child `index` under `path`, recording its input shape.
    public final func analyzeChild(_ index: Int, _ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        let childPath = path.isEmpty ? childNames[index] : path + "." + childNames[index]
        context.moduleInputShapes[childPath] = input
        let output = try children[index].analyze(input, path: childPath, context: &context)
        context.moduleOutputShapes[childPath] = output
        return output
    }
}

// MARK: - loading state dicts

/// What ``Module/load(stateDict:strict:)`` found: keys the model has and the dict lacks
/// (`missing`), keys the dict has and the model lacks (`unexpected`), and keys present in both
/// with different shapes.
public struct LoadReport: Sendable, Equatable, CustomStringConvertible {
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var shapeMismatched: [(key: String, expected: [Int], found: [Int])] = []
    public var loaded: Int = 0

    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatched.isEmpty }

    public static func == (a: LoadReport, b: LoadReport) -> Bool {
        a.missing == b.missing && a.unexpected == b.unexpected && a.loaded == b.loaded
            && a.shapeMismatched.map(\.key) == b.shapeMismatched.map(\.key)
    }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        if !shapeMismatched.isEmpty {
            parts.append("shape mismatches: " + shapeMismatched.map { "\($0.key) (model \($0.expected), file \($0.found))" }
                .joined(separator: ", "))
        }
        return parts.isEmpty ? "all \(loaded) tensors loaded" : parts.joined(separator: "; ")
    }
}

/// Thrown by a strict load that found missing, unexpected or mismatched keys.
public struct StateDictError: Error, CustomStringConvertible, Sendable {
    public let report: LoadReport
    public var description: String { "state dict does not match the model: \(report)" }
}

extension Module {
    /// Copies the values of `stateDict` into this tree's parameters and buffers (in place, so
    /// the tensors keep their identity and memory layout; dtypes are converted).
    ///
    /// With `strict` (the default) any missing, unexpected or shape-mismatched key throws a
    /// ``StateDictError`` naming them and nothing is copied. Lenient loading copies the keys that
    /// match and returns the report.
    @discardableResult
    public func load(stateDict: [String: Tensor], strict: Bool = true) throws -> LoadReport {
        var report = LoadReport()
        let own = self.stateDict()
        var plan: [(Tensor, Tensor)] = []
        var ownKeys = Set<String>()
        for (key, target) in own {
            ownKeys.insert(key)
            guard let source = stateDict[key] else { report.missing.append(key); continue }
            // PyTorch stores num_batches_tracked as a 0-d tensor; accept [1] too.
            let sameShape = source.shape == target.shape || (target.rank == 0 && source.elementCount == 1)
            guard sameShape else {
                report.shapeMismatched.append((key, target.shape, source.shape))
                continue
            }
            plan.append((target, source))
        }
        report.unexpected = stateDict.keys.filter { !ownKeys.contains($0) }.sorted()
        if strict && !report.isClean { throw StateDictError(report: report) }
        try withNoGrad {
            for (target, source) in plan {
                try target.copy_(target.rank == 0 && source.rank != 0 ? source.reshape([]) : source)
            }
        }
        report.loaded = plan.count
        return report
    }

    /// ``load(stateDict:strict:)`` from an ordered list (duplicate keys are an error).
    @discardableResult
    public func load(stateDict entries: [NamedTensor], strict: Bool = true) throws -> LoadReport {
        var dict: [String: Tensor] = [:]
        for (k, v) in entries {
            guard dict.updateValue(v, forKey: k) == nil else { throw NNError("state dict has the key \"\(k)\" twice") }
        }
        return try load(stateDict: dict, strict: strict)
    }
}

extension Module: CustomStringConvertible {
    /// A PyTorch-like tree printout.
    public var description: String { render(indent: "") }

    private func render(indent: String) -> String {
        guard !children.isEmpty else { return typeName + "(" + extraDescription + ")" }
        var lines = [typeName + "("]
        for (i, child) in children.enumerated() {
            lines.append(indent + "  (\(childNames[i])): " + child.render(indent: indent + "  "))
        }
        lines.append(indent + ")")
        return lines.joined(separator: "\n")
    }
}
