import ArgumentParser
import Foundation
import LacootWorkflow
import Torch

/// Data-parallel training flags: `--nproc N` starts N ranks on this host; `--world-size W
/// --rank R --master HOST:PORT` makes this process one rank of a run across hosts.
struct DistributedOptions: ParsableArguments {
    @Option(name: .long, help: "Start N ranks on this host (data-parallel, like torchrun): each reads its shard with batch --batch-size ÷ N; threads per rank default to the cores ÷ N.")
    var nproc: Int?

    @Option(name: .customLong("world-size"), help: "Ranks of a multi-host run (one `lacoot train` per rank, with --rank and --master).")
    var worldSize: Int?

    @Option(name: .long, help: "This process's rank in 0..<world-size (rank 0 serves the rendezvous and writes the run folder).")
    var rank: Int?

    @Option(name: .long, help: "HOST:PORT of rank 0's rendezvous (TCPStore), reachable from every rank.")
    var master: String?

    @Option(name: .customLong("device-host"), help: "The address the other ranks reach this one at (default: this host name's address; 127.0.0.1 with --nproc).")
    var deviceHost: String?

    @Flag(name: .customLong("global-distance"), help: "Measure LaCoOT's distance on the global batch (block features all-gathered) instead of each rank's local batch.")
    var globalDistance = false

    @Flag(name: .customLong("sync-bn"), help: "BatchNorm with the statistics of the global batch (SyncBatchNorm) instead of each rank's.")
    var syncBatchNorm = false

    @Option(name: .long, help: "Seconds the rendezvous and each collective may wait before failing.")
    var timeout = 1800.0

    @Option(name: .customLong("heartbeat-timeout"), help: "Seconds without a heartbeat after which a rank counts as lost (every other rank then exits 1 naming it).")
    var heartbeatTimeout = 20.0

    static let maxRanks = 1...4096

    func validate() throws {
        try Bounds.check(nproc, "nproc", in: 1...256)
        try Bounds.check(worldSize, "world-size", in: Self.maxRanks)
        try Bounds.check(timeout, "timeout", in: 1...86_400)
        try Bounds.check(heartbeatTimeout, "heartbeat-timeout", in: 2...86_400)
        if let master, DataParallel.Endpoint(master) == nil {
            throw ValidationError("--master must be HOST:PORT with a port in 1...65535, got \"\(master)\"")
        }
        if let rank {
            guard let worldSize, let _ = master else {
                throw ValidationError("--rank needs --world-size and --master")
            }
            guard (0..<worldSize).contains(rank) else {
                throw ValidationError("--rank must be in 0...\(worldSize - 1) for --world-size \(worldSize), got \(rank)")
            }
        } else if worldSize != nil || master != nil {
            throw ValidationError("--world-size and --master need --rank (or use --nproc N on one host)")
        }
        let parallel = (nproc ?? 1) > 1 || rank != nil
        if !parallel, globalDistance || syncBatchNorm || deviceHost != nil {
            let flag = globalDistance ? "--global-distance" : syncBatchNorm ? "--sync-bn" : "--device-host"
            throw ValidationError("\(flag) applies to data-parallel runs: add --nproc N (N ≥ 2) or --world-size/--rank/--master")
        }
        if nproc != nil, rank != nil {
            throw ValidationError("--nproc starts its own ranks: leave out --rank, --world-size and --master")
        }
    }

    /// Whether this invocation starts ranks itself (`--nproc N` with N > 1).
    var launches: Bool { (nproc ?? 1) > 1 && rank == nil }

    /// This process's rank in a data-parallel run, joined; nil for a single-process run.
    func join(device: Device) throws -> DataParallel? {
        guard let rank, let worldSize, worldSize > 1, let master, let endpoint = DataParallel.Endpoint(master) else { return nil }
        return try DataParallel.join(master: endpoint, rank: rank, worldSize: worldSize, timeoutSeconds: timeout,
                                     staleSeconds: heartbeatTimeout, deviceHost: deviceHost, device: device,
                                     globalDistance: globalDistance, syncBatchNorm: syncBatchNorm)
    }
}
