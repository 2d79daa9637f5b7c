import Datasets
import Foundation
import LaCoOT
@testable import LacootWorkflow
import LacootSupport
import Models
import NN
import Testing
import Torch

@Suite(.serialized) struct DistillationTests {
    @Test func theLossIsTSquaredTimesTheKLDivergenceOfTheSoftenedLogits() throws {
        let teacher: [Float] = [2, 0, -1, 1, 1, 1], student: [Float] = [0, 1, 0, 3, -2, 0.5]
        let d = Distillation(weight: 0.5, temperature: 2)
        let value = try d.loss(student: Tensor(student, shape: [2, 3]), teacher: Tensor(teacher, shape: [2, 3])).item()
        // by hand: mean over rows of Σ p (log p − log q), p and q the softmax at T = 2, × T² × weight
        func softmax(_ row: ArraySlice<Float>) -> [Double] {
            let e = row.map { exp(Double($0) / 2) }
            return e.map { $0 / e.reduce(0, +) }
        }
        var kl = 0.0
        for r in 0..<2 {
            let p = softmax(teacher[(3 * r)..<(3 * r + 3)]), q = softmax(student[(3 * r)..<(3 * r + 3)])
            kl += zip(p, q).map { $0 * log($0 / $1) }.reduce(0, +)
        }
        #expect(abs(value - kl / 2 * 4 * 0.5) < 1e-5)
        let same = try d.loss(student: Tensor(teacher, shape: [2, 3]), teacher: Tensor(teacher, shape: [2, 3])).item()
        #expect(abs(same) < 1e-7)
        #expect(throws: ConfigurationError.self) { try Distillation(weight: 0).validate() }
    }

    func config() -> TrainingConfig {
        var c = tinyConfig(epochs: 2)
        var s = AdaptiveLambda.Settings()
        s.identityPath = IdentityPath()
        c.regularizer.adaptiveLambda = s
        c.regularizer.distillation = Distillation()
        return c
    }

    func trainer(cancellation: CancellationToken? = nil) throws -> Trainer {
        let trainer = try Trainer(model: try tinyModel(seed: 1), config: config(), normalization: tinyNormalization)
        trainer.showProgress = false
        trainer.log = { _ in }
        trainer.cancellation = cancellation
        return trainer
    }

    /// The teacher is the model at the selection, it changes training, and a run stopped after
    /// the selection resumes to the same weights (its teacher read back from the run folder).
    @Test func theTeacherIsTakenAtTheSelectionSavedAndRestored() throws {
        let train = try tinyData(count: 48), validation = try tinyData(count: 16, seed: 1)
        let straight = try trainer()
        var teacherAtSelection: [String: [Float]]?
        straight.onStep = { _ in
            if teacherAtSelection == nil, let teacher = straight.teacher { teacherAtSelection = try? weights(of: teacher) }
        }
        _ = try straight.fit(train: train, validation: validation)
        let teacher = try #require(straight.teacher)
        #expect(try weights(of: teacher) == teacherAtSelection)     // frozen: no step changed it
        #expect(try weights(of: teacher) != weights(of: straight.model))

        var plain = config()
        plain.regularizer.distillation = nil
        let without = try Trainer(model: try tinyModel(seed: 1), config: plain, normalization: tinyNormalization)
        without.showProgress = false
        without.log = { _ in }
        _ = try without.fit(train: train, validation: validation)
        #expect(try weights(of: without.model) != weights(of: straight.model))   // the term changed the steps

        let folder = RunFolder(url: try temporaryFolder())
        let token = CancellationToken()
        let first = try trainer(cancellation: token)
        var steps = 0
        // the selection is at step 1; step 3 is epoch 1's last: a stop there resumes too (it once could not)
        first.onStep = { _ in steps += 1; if steps == 3 { token.cancel() } }
        #expect(throws: TrainingError.self) { try first.fit(train: train, validation: validation, runFolder: folder) }
        #expect(FileManager.default.fileExists(atPath: folder.teacherURL.path))
        let resumed = try trainer()
        _ = try resumed.fit(train: train, validation: validation, runFolder: folder, resume: true)
        #expect(try weights(of: resumed.model) == weights(of: straight.model))
        #expect(resumed.model.residualScales == straight.model.residualScales)

        try FileManager.default.removeItem(at: folder.teacherURL)
        let again = try trainer()
        #expect(throws: TrainingError.self) { try again.fit(train: train, validation: validation, runFolder: folder, resume: true) }
    }
}
