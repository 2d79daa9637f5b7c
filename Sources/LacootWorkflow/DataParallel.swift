import Datasets
import Foundation
import LaCoOT
import LacootRecords
import LacootSupport
import Models
import NN
import Torch

/// Data-parallel training as PyTorch's DistributedDataParallel does it, on libtorch's c10d
/// (Gloo over TCP): every rank holds the whole model, reads its ``Shard`` of the seeded order
/// with batch B ÷ world size, and the gradients are averaged over the ranks (bucketed ring
/// all-reduce) before each optimizer step, so all ranks take the same step.
///
/// - The LaCoOT distance is measured per rank on its local batch (what DDP does with the
///   reference code), or with ``globalDistance`` on the global batch: the block features are
///   all-gathered, and each rank's gradient of the global distance reaches its own features.
/// - BatchNorm normalizes per rank, rank 0's running statistics broadcast before each step
///   (DDP's `broadcast_buffers`); with ``syncBatchNorm`` the statistics are the global batch's.
/// - Rank 0 writes the run folder; a heartbeat watchdog ends every rank with one line naming a
///   rank that died or hung.
///
/// The ``Trainer`` is given it as its ``StepSynchronization`` (`trainer.synchronization = parallel`).
public final class DataParallel: StepSynchronization {
    public let group: ProcessGroup
    public let globalDistance: Bool
    public let syncBatchNorm: Bool
    /// Bytes per all-reduce bucket (DDP's default, 25 MiB).
    public var bucketBytes = 25 << 20
    private let watchdog: RankWatchdog?
    /// Seconds without a heartbeat after which the watchdog names a lost rank.
    private let staleSeconds: Double
    /// Where the model lives (the step's figures travel there for their all-reduce).
    private let device: Device
    /// Seconds spent waiting for the gradient all-reduces after backward (the communication the
    /// overlap did not hide).
    public private(set) var communicationSeconds = 0.0
    /// Overlap the gradient all-reduce with the backward pass (default); false: all buckets after it.
    public var overlapsBackward = true
    private var overlap: GradientOverlap?

    public var rank: Int { group.rank }
    public var worldSize: Int { group.worldSize }
    /// Whether this rank writes the run folder and reports (rank 0).
    public var isWriter: Bool { group.rank == 0 }
    public var shard: Shard { Shard(rank: group.rank, count: group.worldSize) }
    /// The number of ranks, which a resume must match.
    public var checkpointMetadata: [String: String] { ["world_size": "\(worldSize)"] }

    public init(group: ProcessGroup, globalDistance: Bool = false, syncBatchNorm: Bool = false, watchdog: RankWatchdog? = nil,
                staleSeconds: Double = 20, device: Device = .cpu) {
        self.group = group
        self.device = device
        self.staleSeconds = staleSeconds
        self.globalDistance = globalDistance
        self.syncBatchNorm = syncBatchNorm
        self.watchdog = watchdog
    }

    /// Joins a run: rank 0 serves the rendezvous on `master`'s port, every rank connects to it.
    /// `timeoutSeconds` bounds the rendezvous and every collective; a peer that stops beating
    /// for `staleSeconds` ends this process (exit 1, one line naming it).
    /// CUDA models go through NCCL (with a CUDA libtorch), CPU models through Gloo.
    public static func join(master: Endpoint, rank: Int, worldSize: Int, timeoutSeconds: Double, staleSeconds: Double = 20,
                            deviceHost: String? = nil, device: Device = .cpu, globalDistance: Bool,
                            syncBatchNorm: Bool) throws -> DataParallel {
        guard RendezvousStore.isAvailable else {
            throw TrainingError.distributed("this build has no Gloo (c10d) support: install Debian's libgloo-dev (scripts/setup) and rebuild")
        }
        do {
            let store = try RendezvousStore(host: master.host, port: master.port, isServer: rank == 0, worldSize: worldSize,
                                            timeoutSeconds: timeoutSeconds)
            let group = try ProcessGroup(store: store, rank: rank, worldSize: worldSize, timeoutSeconds: timeoutSeconds,
                                         deviceHost: deviceHost, backend: device == .cpu ? .gloo : .nccl)
            let watchdog = try RankWatchdog(store: store, rank: rank, worldSize: worldSize, staleSeconds: staleSeconds)
            return DataParallel(group: group, globalDistance: globalDistance, syncBatchNorm: syncBatchNorm, watchdog: watchdog,
                                staleSeconds: staleSeconds, device: device)
        } catch let error as TorchError {
            throw TrainingError.distributed("rank \(rank) of \(worldSize) could not join the run at \(master): \(firstLine(of: error))")
        }
    }

    /// ``prepare(_:)`` then ``checkSameStart(epoch:step:)``.
    public func start(_ model: any CollapsibleModel, epoch: Int, step: Int) throws {
        try prepare(model)
        try checkSameStart(epoch: epoch, step: step)
    }

    /// Makes every rank start from rank 0's weights and buffers; with ``syncBatchNorm`` routes
    /// every BatchNorm through the group.
    public func prepare(_ model: any CollapsibleModel) throws {
        try collective { try withNoGrad { try group.broadcast(model.stateDict().map(\.tensor), root: 0) } }
        if syncBatchNorm {
            for (_, module) in model.namedModules() { (module as? BatchNorm2d)?.syncGroup = group }
        }
        if overlapsBackward, overlap == nil {
            let trainable = model.namedParameters().map(\.tensor).filter(\.requiresGrad)
            overlap = try GradientOverlap(group: group, parameters: trainable, bucketBytes: bucketBytes)
        }
    }

    /// Every rank starts where rank 0 does: a rank that resumed from another checkpoint (a stale
    /// copy on its host) would train other steps and leave the ranks' collectives out of step.
    /// All ranks throw together, each saying what it found.
    public func checkSameStart(epoch: Int, step: Int) throws {
        let mine = [Double(epoch), Double(step)]
        let rankZero = try Tensor(mine, shape: [2]).to(device)
        try collective { try group.broadcast([rankZero], root: 0) }
        let theirs = try rankZero.doubles()
        let flag = try Tensor([theirs == mine ? 0.0 : 1.0], shape: [1]).to(device)
        try collective { try group.allReduce([flag]) }
        guard try flag.doubles()[0] == 0 else {
            let position = { (p: [Double]) in "epoch \(Int(p[0]) + 1), step \(Int(p[1]) + 1)" }
            throw TrainingError.distributed(theirs == mine
                ? "rank \(rank): another rank found a checkpoint other than rank 0's; every rank needs rank 0's checkpoint (a run folder the hosts share, or a copy of it)"
                : "rank \(rank) would resume at \(position(mine)), rank 0 at \(position(theirs)): every rank needs rank 0's checkpoint (a run folder the hosts share, or a copy of it)")
        }
    }

    /// DDP's `broadcast_buffers`: rank 0's BatchNorm statistics on every rank before a step
    /// (nothing to do with ``syncBatchNorm``, where they agree already).
    public func synchronizeBuffers(_ model: any CollapsibleModel) throws {
        guard !syncBatchNorm else { return }
        let buffers = model.namedBuffers().map(\.tensor)
        if !buffers.isEmpty { try collective { try withNoGrad { try group.broadcast(buffers, root: 0) } } }
    }

    /// Replaces every parameter's gradient by its mean over the ranks.
    public func synchronizeGradients(_ model: any CollapsibleModel) throws {
        let started = Date()
        defer { communicationSeconds += Date().timeIntervalSince(started) }
        if let overlap {
            try collective { try overlap.finish(divisor: Double(worldSize)) }
            return
        }
        let gradients = try model.namedParameters().compactMap { try $0.tensor.grad }
        try collective { try group.allReduce(gradients, bucketBytes: bucketBytes, divisor: Double(worldSize)) }
    }

    /// With ``globalDistance``: each event's input, output and branch features of the whole
    /// global batch (rank order), this rank's rows still in the graph with their gradient
    /// multiplied by the world size, which the gradient average divides again. Without it, the
    /// rank's own events.
    public func events(_ local: [BlockEvent]) throws -> [BlockEvent] {
        guard globalDistance else { return local }
        return try local.map { event in
            BlockEvent(name: event.name, index: event.index, input: try gathered(event.input), output: try gathered(event.output),
                       branch: try event.branch.map { try gathered($0) })
        }
    }

    private func gathered(_ local: Tensor) throws -> Tensor {
        let all = try collective { try group.allGather(local) }
        let rows = local.shape[0]
        // value: local; gradient: worldSize × (the other ranks' share arrives through their own ranks)
        let scaled = try local + (local - local.detach()) * Double(worldSize - 1)
        var parts: [Tensor] = []
        for r in 0..<worldSize {
            parts.append(r == rank ? scaled : try all.narrow(0, start: r * rows, length: rows))
        }
        return try Tensor.cat(parts, dim: 0)
    }

    /// The step's figures summed over the ranks: [cross-entropy, regularizer, correct, stop
    /// request (this rank's `cancellation`), distances…] → the means of the losses and
    /// distances, the total correct count and whether any rank asked to stop (so that every
    /// rank stops at the same step).
    public func combine(_ figures: StepFigures, cancellation: CancellationToken?) throws -> StepFigures {
        let stop = cancellation?.isCancelled == true
        let values = [figures.crossEntropy, figures.regularizer, Double(figures.correct), stop ? 1 : 0]
            + figures.distances.map(\.distance)
        let packed = try Tensor(values, shape: [values.count]).to(device)
        try collective { try group.allReduce([packed]) }
        let sums = try packed.doubles()
        let n = Double(worldSize)
        let means = figures.distances.enumerated().map {
            BlockDistance(block: $0.element.block, distance: sums[4 + $0.offset] / n)
        }
        return StepFigures(crossEntropy: sums[0] / n, regularizer: sums[1] / n, correct: Int(sums[2].rounded()),
                           distances: means, stopRequested: sums[3] > 0)
    }

    /// Every rank stops after the step in which some rank asked to (agreed on in ``combine(_:cancellation:)``).
    public func stops(after result: Trainer.StepResult, cancellation: CancellationToken?) -> Bool {
        result.stopRequested
    }

    /// The mean over the ranks of each value (the same list on every rank).
    public func mean(of values: [Double]) throws -> [Double] {
        guard !values.isEmpty else { return [] }
        let packed = try Tensor(values, shape: [values.count]).to(device)
        try collective { try group.allReduce([packed]) }
        return try packed.doubles().map { $0 / Double(worldSize) }
    }

    /// Ends the run cleanly on every rank: a barrier, the heartbeat stopped, a second barrier
    /// (so that rank 0's store outlives every heartbeat).
    public func finish() throws {
        try collective { try group.barrier() }
        watchdog?.stop()
        try collective { try group.barrier() }
    }

    /// Runs one collective. When it fails (a peer closed its connection, a timeout), the
    /// heartbeats get the time to name the lost rank — the watchdog then ends the process with
    /// that line; if no rank is lost, the collective's own error is thrown.
    private func collective<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TorchError {
            if watchdog != nil { Thread.sleep(forTimeInterval: staleSeconds + 2) }
            throw TrainingError.distributed("rank \(rank) of \(worldSize): a collective failed: \(Self.firstLine(of: error))")
        }
    }

    /// The first line of a libtorch error (c10d's messages can run on).
    private static func firstLine(of error: TorchError) -> String {
        "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
    }

    /// A `host:port` address.
    public struct Endpoint: CustomStringConvertible, Sendable, Equatable {
        public let host: String
        public let port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `HOST:PORT` (port 1…65535); nil otherwise.
        public init?(_ text: String) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                  (1...65535).contains(port), colon != text.startIndex else { return nil }
            self.init(host: String(text[..<colon]), port: port)
        }

        public var description: String { "\(host):\(port)" }
    }
}
