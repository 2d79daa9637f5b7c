import Foundation
@testable import LacootWorkflow
import Models
import Testing

/// The workflow reads the model registry as it read its own lists before: the demo's networks,
/// their architectures, budgets and training; each family's default recipe.
@Suite struct RegistryUseTests {
    /// The demo trains ResNet-18 (at its width), the small ViT and Swin-T, with the same
    /// architectures, budgets and recipes as before; another model is an error naming it.
    @Test func demoNetworksComeFromTheRegistry() throws {
        #expect(Demo.networks.map(\.rawValue) == ["resnet18", "vit", "swin_t"])
        let resnet = try Demo.architecture(.resnet18, width: 16, classCount: 10, inputChannels: 1)
        #expect(resnet == ModelArchitecture(kind: .resNet18, classCount: 10, inputChannels: 1, stem: .cifar, width: 16))
        let vit = try Demo.architecture(#require(ModelChoice(rawValue: "vit")), width: 16, classCount: 10, inputChannels: 1)
        #expect(vit == ModelArchitecture(kind: .visionTransformer, classCount: 10, inputChannels: 1, stem: .cifar,
                                         transformer: .small))
        let swin = try Demo.architecture(#require(ModelChoice(rawValue: "swin_t")), width: 16, classCount: 10, inputChannels: 1)
        #expect(swin == ModelArchitecture(kind: .swinTransformer, classCount: 10, inputChannels: 1, stem: .cifar, swin: .swinT))
        let mobile = try #require(ModelChoice(rawValue: "mobilenetv2"))
        #expect(throws: DemoError.notADemoNetwork("mobilenetv2", networks: ["resnet18", "vit", "swin_t"])) {
            try Demo.architecture(mobile, width: 16, classCount: 10, inputChannels: 1)
        }

        var options = Demo.Options()
        options.makeNetworkBudget()
        #expect(options.epochs == 5 && options.trainLimit == nil && options.testLimit == nil)
        options.makeQuick()
        #expect(options.epochs == 1 && options.trainLimit == 12_000 && options.testLimit == 2_000)
        #expect(Demo(options: options).trainingConfig(for: Demo.Arm(lambda: 1)).optimizer.kind == .sgd)
        options.network = try #require(ModelChoice(rawValue: "swin_t"))
        options.makeNetworkBudget()
        #expect(options.epochs == 3 && options.trainLimit == 6_000 && options.testLimit == 1_000)
        options.makeQuick()
        #expect(options.epochs == 1 && options.trainLimit == 2_000 && options.testLimit == 500)
        let transformer = Demo(options: options).trainingConfig(for: Demo.Arm(lambda: 1))
        #expect(transformer.optimizer.kind == .adamw && transformer.labelSmoothing == 0.1)
    }

    /// The CNN recipe for the convolutional families, the transformer recipe for the others.
    @Test func defaultRecipesFollowTheFamilies() {
        #expect(ModelRegistry.families.map { Recipe.default(for: $0) } == [.cnn, .cnn, .transformer, .transformer])
    }
}
