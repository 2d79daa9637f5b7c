import Foundation
import LaCoOT
import Models
import NN
import Optim
import Torch

/// The trainer's checkpoints: what a run folder's checkpoint holds and how a run resumes from it.
extension Trainer {
    /// The per-block λ state a checkpoint holds (nil: none, or unreadable).
    static func adaptiveState(in checkpoint: TrainingCheckpoint) -> AdaptiveLambda? {
        checkpoint.metadata["adaptive_lambda"].flatMap { try? JSONDecoder().decode(AdaptiveLambda.self, from: Data($0.utf8)) }
    }

    /// Loads the run folder's checkpoint into the model, optimizer, schedule and generators.
    /// - Throws: ``TrainingError/checkpointMismatch(checkpoint:reason:)`` when it belongs to another run.
    func restore(from runFolder: RunFolder, runConfig: RunConfig?, run: RunState, stepsPerEpoch: Int) throws -> Resumed {
        let checkpoint = try TrainingCheckpoint.load(from: runFolder.checkpointURL)
        var resumed = try Self.progress(of: checkpoint, file: runFolder.checkpointURL.path, epochs: config.epochs,
                                        stepsPerEpoch: stepsPerEpoch)
        if let runConfig, checkpoint.configuration != "{}", checkpoint.configuration != run.configJSON {
            let saved = try? JSONDecoder().decode(RunConfig.self, from: Data(checkpoint.configuration.utf8))
            if saved.map({ $0.model.differences(from: runConfig.model) }) != [] || saved?.training != runConfig.training || saved?.data != runConfig.data {
                throw TrainingError.checkpointMismatch(
                    checkpoint: runFolder.checkpointURL.path,
                    reason: "was written by a run with another configuration; "
                        + "use a new --run-dir or the same options as \(runFolder.configURL.path)")
            }
        }
        let report = try model.load(stateDict: checkpoint.model, strict: true)
        guard report.isClean else {
            throw TrainingError.checkpointMismatch(checkpoint: runFolder.checkpointURL.path,
                                                   reason: "does not match the model: \(report)")
        }
        do {
            if let state = checkpoint.optimizer { try optimizer.load(state: state) }
            if let state = checkpoint.schedule { try run.scheduler.load(state: state) }
        } catch let error as NNError {
            throw TrainingError.checkpointMismatch(checkpoint: runFolder.checkpointURL.path, reason: "has an invalid optimizer or schedule state: \(error)")
        }
        let ranks = synchronization.worldSize, savedRanks = checkpoint.metadata["world_size"].flatMap { Int($0) } ?? 1
        guard ranks == savedRanks else {
            throw TrainingError.checkpointMismatch(checkpoint: runFolder.checkpointURL.path, reason: "was written by a run of \(savedRanks) rank(s); resume it with the same number (--nproc \(savedRanks)), not \(ranks)")
        }
        for (name, generator) in regularizer.checkpointGenerators {
            if let g = checkpoint.generators[name] { try generator.setState(g) }
        }
        do { try regularizer.restoreCarriedTensors(checkpoint.regularizer) } catch {
            throw TrainingError.checkpointMismatch(checkpoint: runFolder.checkpointURL.path, reason: "has an invalid regularizer state: \(error)")
        }
        if adaptive != nil {
            guard let saved = Self.adaptiveState(in: checkpoint),
                  saved.settings == config.regularizer.adaptiveLambda, saved.blocks == regularizer.blocks,
                  saved.steps == resumed.startEpoch * stepsPerEpoch + resumed.skipSteps else {
                throw TrainingError.checkpointMismatch(checkpoint: runFolder.checkpointURL.path,
                                                       reason: "has no valid adaptive_lambda state for this run (the per-block λ cannot be restored)")
            }
            adaptive = saved
            if config.regularizer.distillation != nil, saved.selectionDone, teacher == nil {
                guard FileManager.default.fileExists(atPath: runFolder.teacherURL.path) else {
                    throw TrainingError.checkpointMismatch(checkpoint: runFolder.checkpointURL.path,
                                                           reason: "is past the block selection but \(runFolder.teacherURL.path), the distillation's teacher, is missing")
                }
                let loaded = try ModelFile.load(from: runFolder.teacherURL).model
                try loaded.to(device)
                if config.execution.channelsLast { try loaded.setMemoryFormat(.channelsLast) }
                teacher = try Self.frozenCopy(of: loaded)
            }
        }
        for (name, generator) in model.namedGenerators() {
            if let g = checkpoint.generators["model." + name] { try generator.setState(g) }
        }
        resumed.history = Array(try runFolder.readMetrics().prefix(resumed.startEpoch))
        logger.info("checkpoint resumed", metadata: ["file": "\(runFolder.checkpointURL.path)",
                                                    "epochs": "\(resumed.startEpoch)", "steps": "\(resumed.skipSteps)"])
        log(resumed.startEpoch == config.epochs
            ? "\(runFolder.checkpointURL.path): all \(config.epochs) epochs are done, nothing to train"
            : "resuming from \(runFolder.checkpointURL.path): epoch \(resumed.startEpoch + 1)"
              + (resumed.skipSteps > 0 ? ", step \(resumed.skipSteps + 1)" : ""))
        return resumed
    }

    /// Where a checkpoint's metadata says the run stands, checked against this run's
    /// configuration: epochs completed within 0...epochs, the steps of a partial epoch within
    /// the epoch's batches, the schedule's position ≥ 0. Errors name the file and the field.
    static func progress(of checkpoint: TrainingCheckpoint, file: String, epochs: Int, stepsPerEpoch: Int) throws -> Resumed {
        func bad(_ field: String, _ problem: String) -> TrainingError {
            .checkpointMismatch(checkpoint: file, reason: "has an invalid \(field): \(problem)")
        }
        guard (0...epochs).contains(checkpoint.epoch) else {
            throw bad("epoch", "\(checkpoint.epoch) epochs completed, but the run has \(epochs) (expected 0...\(epochs))")
        }
        var resumed = Resumed(startEpoch: checkpoint.epoch)
        if let text = checkpoint.metadata["partial_epoch"] {
            guard let saved = try? JSONDecoder().decode(PartialEpoch.self, from: Data(text.utf8)) else {
                throw bad("partial_epoch", "is not valid JSON")
            }
            // all of an epoch's steps: stopped on its last step, before its validation and metrics
            guard checkpoint.epoch < epochs, (0...stepsPerEpoch).contains(saved.steps), saved.samples >= 0, saved.correct >= 0 else {
                throw bad("partial_epoch", "\(saved.steps) steps into epoch \(checkpoint.epoch + 1) of \(epochs), "
                          + "but an epoch has \(stepsPerEpoch) steps (expected 0...\(stepsPerEpoch))")
            }
            resumed.partial = saved
            resumed.skipSteps = saved.steps
        }
        if let position = checkpoint.schedule?.position, position < 0 {
            throw bad("schedule", "position \(position) is negative")
        }
        return resumed
    }

    /// Writes the run's checkpoint (none without a run folder) and returns its path. `partial`
    /// holds the running sums of an unfinished epoch.
    func saveCheckpoint(_ run: RunState, epochsDone: Int, partial: PartialEpoch?, epochStarted: Date) throws -> String? {
        guard let runFolder = run.folder else { return nil }
        // a weight or BatchNorm statistic gone NaN (the loss, in training mode, can still be finite) must not
        // replace the last good checkpoint
        if let bad = try withNoGrad({ try model.stateDict().first { try Self.holdsNonFinite($0.tensor) } }) {
            let kept = FileManager.default.fileExists(atPath: runFolder.checkpointURL.path) ? runFolder.checkpointURL.path : nil
            throw TrainingError.nonFiniteWeights(epoch: max(epochsDone - 1, 0), parameter: bad.name, checkpoint: kept)
        }
        var metadata: [String: String] = [:]
        if var partial {
            partial.secondsBefore += Date().timeIntervalSince(epochStarted)
            metadata["partial_epoch"] = String(decoding: try JSONEncoder().encode(partial), as: UTF8.self)
        }
        metadata.merge(synchronization.checkpointMetadata) { $1 }
        if let adaptive {
            metadata["adaptive_lambda"] = String(decoding: try JSONEncoder().encode(adaptive), as: UTF8.self)
        }
        var checkpoint = try TrainingCheckpoint(model: model, optimizer: optimizer, scheduler: run.scheduler, epoch: epochsDone,
                                                generators: regularizer.checkpointGenerators, configuration: run.configJSON,
                                                metadata: metadata)
        checkpoint.regularizer = try regularizer.carriedTensors()
        if let teacher, config.regularizer.distillation != nil, !FileManager.default.fileExists(atPath: runFolder.teacherURL.path) {
            try ModelFile.save(teacher, to: runFolder.teacherURL)
        }
        try checkpoint.save(to: runFolder.checkpointURL)
        logger.debug("checkpoint written", metadata: ["file": "\(runFolder.checkpointURL.path)", "epochs": "\(epochsDone)",
                                                     "steps": "\(partial?.steps ?? 0)"])
        return runFolder.checkpointURL.path
    }

    /// Whether a floating tensor holds NaN or infinite values.
    static func holdsNonFinite(_ t: Tensor) throws -> Bool {
        t.dtype.isFloatingPoint ? try t.isFinite().logicalNot().sum().item() > 0 : false
    }
}
