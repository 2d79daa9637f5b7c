import Foundation
import NN
import Serialization
import Torch

/// Everything needed to resume a training run where it stopped: the model's state dict, the
/// optimizer's state, the schedule's position, the epoch, the random generators' states
/// (the caller's — data order, augmentation, regularizer — plus those held inside the model,
/// e.g. Dropout's), and the run's configuration as a JSON string.
///
/// Stored as one safetensors file: tensors under `model.`, `optimizer.` and `generator.`
/// prefixes; the rest in `__metadata__`.
///
/// ```swift
/// try TrainingCheckpoint(model: model, optimizer: sgd, scheduler: scheduler, epoch: epoch,
///                        generators: ["data": dataGenerator], configuration: configJSON)
///     .save(to: url)
/// let checkpoint = try TrainingCheckpoint.load(from: url)
/// try checkpoint.restore(model: model, optimizer: sgd, scheduler: scheduler, generators: ["data": dataGenerator])
/// ```
public struct TrainingCheckpoint: @unchecked Sendable {
    public static let format = "lacoot.training-checkpoint"

    public var model: [NamedTensor]
    public var optimizer: OptimizerState?
    public var schedule: LRScheduler.State?
    /// Epochs completed.
    public var epoch: Int
    /// Generator states by name; the model's own generators appear as "model.<key>".
    public var generators: [String: Tensor]
    /// The run's configuration (JSON), opaque to this type.
    public var configuration: String
    /// Extra string metadata saved alongside.
    public var metadata: [String: String]
    /// The regularizer's tensors that carry over between steps (the optimized distance's
    /// warm-start directions), saved as "regularizer.<name>".
    public var regularizer: [NamedTensor] = []

    public init(model: [NamedTensor], optimizer: OptimizerState?, schedule: LRScheduler.State?, epoch: Int,
                generators: [String: Tensor], configuration: String, metadata: [String: String] = [:]) {
        self.model = model
        self.optimizer = optimizer
        self.schedule = schedule
        self.epoch = epoch
        self.generators = generators
        self.configuration = configuration
        self.metadata = metadata
    }

    /// Captures the current state (tensors are copied, so later training does not change it).
    public init(model: Module, optimizer: (any Optimizer)?, scheduler: LRScheduler?, epoch: Int,
                generators: [String: Generator] = [:], configuration: String = "{}", metadata: [String: String] = [:]) throws {
        let copy: (Tensor) throws -> Tensor = { t in try withNoGrad { try t.detach().clone() } }
        self.model = try model.stateDict().map { ($0.name, try copy($0.tensor)) }
        if let state = try optimizer?.state() {
            self.optimizer = OptimizerState(kind: state.kind, scalars: state.scalars,
                                            tensors: try state.tensors.map { ($0.name, try copy($0.tensor)) })
        } else {
            self.optimizer = nil
        }
        self.schedule = scheduler?.state
        self.epoch = epoch
        var states: [String: Tensor] = [:]
        for (name, g) in generators { states[name] = try g.state() }
        for (name, g) in model.namedGenerators() { states["model." + name] = try g.state() }
        self.generators = states
        self.configuration = configuration
        self.metadata = metadata
    }

    /// Writes the checkpoint atomically.
    public func save(to url: URL) throws {
        var tensors: [NamedTensor] = model.map { ("model." + $0.name, $0.tensor) }
        var meta = metadata
        meta["format"] = Self.format
        meta["version"] = "1"
        meta["epoch"] = String(epoch)
        meta["configuration"] = configuration
        if let optimizer {
            tensors += optimizer.tensors.map { ("optimizer." + $0.name, $0.tensor) }
            meta["optimizer.kind"] = optimizer.kind
            meta["optimizer.scalars"] = String(decoding: try JSONEncoder.sorted.encode(optimizer.scalars), as: UTF8.self)
        }
        if let schedule {
            meta["schedule"] = String(decoding: try JSONEncoder.sorted.encode(schedule), as: UTF8.self)
        }
        tensors += generators.sorted { $0.key < $1.key }.map { ("generator." + $0.key, $0.value) }
        tensors += regularizer.map { ("regularizer." + $0.name, $0.tensor) }
        try Safetensors.write(tensors, metadata: meta, to: url)
    }

    /// Reads a checkpoint written by ``save(to:)``.
    public static func load(from url: URL) throws -> TrainingCheckpoint {
        let file = try Safetensors.read(contentsOf: url)
        func fail(_ key: String, _ problem: String) -> SafetensorsError { .invalidCheckpoint(file: url.path, key: key, problem: problem) }
        guard file.metadata["format"] == format else { throw SafetensorsError.notACheckpoint(file: url.path, format: file.metadata["format"]) }
        guard let epochText = file.metadata["epoch"], let epoch = Int(epochText) else { throw fail("epoch", "is missing or not an integer") }
        guard epoch >= 0 else { throw fail("epoch", "is \(epoch); the epochs completed cannot be negative") }
        var model: [NamedTensor] = []
        var optimizerTensors: [NamedTensor] = []
        var generators: [String: Tensor] = [:]
        var regularizer: [NamedTensor] = []
        for (name, t) in file.tensors {
            if name.hasPrefix("model.") { model.append((String(name.dropFirst(6)), t)) }
            else if name.hasPrefix("optimizer.") { optimizerTensors.append((String(name.dropFirst(10)), t)) }
            else if name.hasPrefix("generator.") { generators[String(name.dropFirst(10))] = t }
            else if name.hasPrefix("regularizer.") { regularizer.append((String(name.dropFirst(12)), t)) }
            else { throw fail(name, "is not a model, optimizer, generator or regularizer tensor (unexpected in a training checkpoint)") }
        }
        var optimizer: OptimizerState?
        if let kind = file.metadata["optimizer.kind"] {
            let scalars: [String: Double]
            do {
                scalars = try JSONDecoder().decode([String: Double].self, from: Data((file.metadata["optimizer.scalars"] ?? "{}").utf8))
            } catch {
                throw fail("optimizer.scalars", "(the optimizer's hyper-parameters) is not valid JSON")
            }
            optimizer = OptimizerState(kind: kind, scalars: scalars, tensors: optimizerTensors)
        }
        var schedule: LRScheduler.State?
        if let text = file.metadata["schedule"] {
            do { schedule = try JSONDecoder().decode(LRScheduler.State.self, from: Data(text.utf8)) } catch {
                throw fail("schedule", "(the schedule's state) is not valid JSON (\(error))")
            }
        }
        var extra = file.metadata
        for key in ["format", "version", "epoch", "configuration", "optimizer.kind", "optimizer.scalars", "schedule"] {
            extra[key] = nil
        }
        var checkpoint = TrainingCheckpoint(model: model, optimizer: optimizer, schedule: schedule, epoch: epoch,
                                            generators: generators, configuration: file.metadata["configuration"] ?? "{}",
                                            metadata: extra)
        checkpoint.regularizer = regularizer
        return checkpoint
    }

    /// Puts the saved state back: the model's weights (strictly), the optimizer's state, the
    /// schedule's position and the named generators (plus the model's own).
    public func restore(model module: Module, optimizer opt: (any Optimizer)?, scheduler: LRScheduler?,
                        generators named: [String: Generator] = [:]) throws {
        try module.load(stateDict: model, strict: true)
        if let opt {
            guard let optimizer else { throw NNError("the checkpoint holds no optimizer state") }
            try opt.load(state: optimizer)
        }
        if let scheduler {
            guard let schedule else { throw NNError("the checkpoint holds no schedule state") }
            try scheduler.load(state: schedule)
        }
        for (name, g) in named {
            guard let state = generators[name] else { throw NNError("the checkpoint holds no generator named \"\(name)\"") }
            try g.setState(state)
        }
        for (name, g) in module.namedGenerators() {
            if let state = generators["model." + name] { try g.setState(state) }
        }
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
