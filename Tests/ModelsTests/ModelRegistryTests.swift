import Foundation
import Testing
import Models
import NN
import Torch

/// The registry gives each family's knowledge as the per-family switches did before it: the
/// kinds (as written in files), the command line's names and the architectures they make,
/// labels, defaults; and a kind no family builds is an error naming it, not a ResNet.
@Suite struct ModelRegistryTests {
    /// Every kind, in the order of the former `Kind` enum, under the names files hold.
    @Test func kindsKeepTheirNamesAndEachHasOneFamily() throws {
        let names = ["resNet18", "resNet34", "resNet50", "resNet20", "resNet32", "resNet44", "resNet56", "resNet110",
                     "mobileNetV2", "visionTransformer", "swinTransformer"]
        #expect(ModelArchitecture.Kind.allCases.map(\.rawValue) == names)
        for kind in ModelArchitecture.Kind.allCases {
            #expect(ModelRegistry.families.filter { $0.kinds.contains(kind) }.count == 1, "\(kind)")
            let json = try JSONEncoder().encode(kind)
            #expect(String(decoding: json, as: UTF8.self) == "\"\(kind.rawValue)\"")
            #expect(try JSONDecoder().decode(ModelArchitecture.Kind.self, from: json) == kind)
        }
        for family in ModelRegistry.families {
            for variant in family.variants { #expect(family.kinds.contains(variant.kind), "\(variant.name)") }
        }
    }

    /// Each `--model` name, in `--help` order, makes the architecture the command line made
    /// before (kind, stem, defaults, label) for 10 classes of 1-channel 32×32 images, and it
    /// builds into a model that reports it normalized.
    @Test func everyNameMakesTheArchitectureItMadeBefore() throws {
        let expected = [
            ("resnet18", "ResNet-18 (cifar stem, width 64, 10 classes)"),
            ("resnet34", "ResNet-34 (cifar stem, width 64, 10 classes)"),
            ("resnet50", "ResNet-50 (cifar stem, width 64, 10 classes)"),
            ("resnet20", "ResNet-20 (cifarNoMaxPool stem, width 16, 10 classes)"),
            ("resnet56", "ResNet-56 (cifarNoMaxPool stem, width 16, 10 classes)"),
            ("mobilenetv2", "MobileNetV2 (cifar, ×1.0, 10 classes)"),
            ("vit", "ViT (patch 4, depth 8, width 192, 3 heads, MLP 768, 32×32, 10 classes)"),
            ("vit_b_16", "ViT-B/16 (32×32, 10 classes)"),
            ("swin_t", "Swin-T (10 classes)"),
        ]
        #expect(ModelRegistry.choices.map(\.rawValue) == expected.map(\.0))
        let request = ModelVariant.Request(classCount: 10, inputChannels: 1, imageSize: 32)
        for (name, label) in expected {
            let choice = try #require(ModelChoice(rawValue: name))
            let architecture = choice.architecture(request)
            #expect(architecture.label == label)
            #expect(try architecture.build().architecture == architecture.normalized, "\(name)")
        }
        #expect(ModelChoice(rawValue: "resnet99") == nil)
        // as config.json holds them: the CIFAR ResNets with projection shortcuts, the ViT's dropout 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json(_ name: String, _ r: ModelVariant.Request = request) throws -> String {
            String(decoding: try encoder.encode(try #require(ModelChoice(rawValue: name)).architecture(r)), as: UTF8.self)
        }
        #expect(try json("resnet20") == #"{"classCount":10,"inputChannels":1,"kind":"resNet20","shortcut":"projection","stem":"cifarNoMaxPool","width":16}"#)
        var sized = ModelVariant.Request(classCount: 5, inputChannels: 3, imageSize: 224)
        (sized.width, sized.depth, sized.imageNetStem) = (32, 2, true)
        #expect(try json("resnet18", sized) == #"{"classCount":5,"inputChannels":3,"kind":"resNet18","shortcut":"projection","stem":"imageNet","width":32}"#)
        #expect(try json("vit", sized) == #"{"classCount":5,"dropout":0,"inputChannels":3,"kind":"visionTransformer","stem":"imageNet","transformer":{"heads":3,"hiddenDim":32,"imageSize":224,"layers":2,"mlpDim":768,"patchSize":4}}"#)
        #expect(try json("mobilenetv2") == #"{"classCount":10,"dropout":0.2,"inputChannels":1,"kind":"mobileNetV2","stem":"cifar","widthMultiplier":1}"#)
    }

    /// What the families' former switches answered elsewhere: MLP branches (the tap, the
    /// recipe), channels-last inference, the import keys.
    @Test func familiesAnswerAsTheFormerSwitches() {
        let transformers = ModelRegistry.names { $0.family.hasMLPBranches }
        #expect(transformers == ["vit", "vit_b_16", "swin_t"])
        #expect(ModelRegistry.names { $0.family.prefersChannelsLast } == ["resnet18", "resnet34", "resnet50", "resnet20",
                                                                          "resnet56", "mobilenetv2"])
        let rules = ModelRegistry.families.map { [$0.importRules.classifierPrefix, $0.importRules.stemKey] }
        #expect(rules == [["fc.", "conv1.weight"], ["classifier.1.", "features.0.0.weight"], ["heads.head.", "conv_proj.weight"],
                          ["head.", "features.0.0.weight"]])
        #expect(ModelRegistry.families.map(\.importRules.inputSizeIsFixed) == [false, false, true, false])
        #expect(ModelRegistry.families.map(\.importRules.stemIsImageNetUnlessTold) == [false, true, false, false])
    }

    /// A kind no family builds: a manifest or config naming it does not decode (the error names
    /// it), and an architecture made with it in code does not build — no ResNet stands in.
    @Test func anUnknownKindIsAnErrorNamingIt() throws {
        let manifest = #"{"architecture":{"classCount":3,"inputChannels":1,"kind":"resNet999","shortcut":"projection","stem":"cifar","width":4},"collapsedBlocks":[]}"#
        do {
            _ = try ModelManifest(json: Data(manifest.utf8), source: "m.json")
            Issue.record("a manifest of an unknown kind decoded")
        } catch let error as ModelError {
            #expect(error.description.contains("m.json") && error.description.contains(#"unknown model kind "resNet999""#),
                    "\(error)")
        }
        let unknown = ModelArchitecture.Kind(rawValue: "resNet999")
        let architecture = ModelArchitecture(kind: unknown, classCount: 3, inputChannels: 1, stem: .cifar, width: 4)
        #expect(throws: ModelError.unknownKind("resNet999")) { try architecture.build() }
        #expect(!architecture.label.hasPrefix("ResNet"))
        #expect(architecture.normalized == architecture)
        #expect(!unknown.hasMLPBranches)
    }
}
