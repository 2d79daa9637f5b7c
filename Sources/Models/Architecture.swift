import Foundation
import NN
import Torch

/// A model's configuration: enough to rebuild the same network (save it in manifests).
///
/// ```json
/// {"kind":"resNet18","classCount":10,"inputChannels":1,"stem":"cifar","width":64}
/// ```
public struct ModelArchitecture: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// torchvision's BasicBlock/Bottleneck ResNets (4 stages).
        case resNet18, resNet34, resNet50
        /// He et al. 2016's CIFAR ResNets (3 stages of 16/32/64 channels, 6n + 2 layers).
        case resNet20, resNet32, resNet44, resNet56, resNet110
        case mobileNetV2
    }

    /// The first layers.
    public enum Stem: String, Codable, Sendable, CaseIterable {
        /// ResNet: 3×3 stride-1 conv, BN, ReLU, 3×3 stride-2 max-pool (LaCoOT's reference).
        /// MobileNetV2: first conv and the 24-channel stage at stride 1 (32×32 inputs end at 4×4).
        case cifar
        /// ResNet: 3×3 stride-1 conv, BN, ReLU, no pooling (He et al.'s CIFAR ResNets).
        case cifarNoMaxPool
        /// ResNet: 7×7 stride-2 conv, BN, ReLU, 3×3 stride-2 max-pool; MobileNetV2: torchvision's.
        case imageNet
    }

    /// How a ResNet block that changes shape builds its shortcut.
    public enum Shortcut: String, Codable, Sendable {
        /// 1×1 convolution + BN ("downsample", torchvision; option B).
        case projection
        /// Parameter-free: subsample and pad channels with zeros (He et al.'s option A).
        case zeroPad
    }

    public var kind: Kind
    public var classCount: Int
    public var inputChannels: Int
    public var stem: Stem
    /// ResNet base channels (64 for ResNet-18/34/50, 16 for the CIFAR ResNets); nil for MobileNetV2.
    public var width: Int?
    /// MobileNetV2 width multiplier; nil for ResNets.
    public var widthMultiplier: Double?
    /// MobileNetV2 classifier dropout; nil for ResNets.
    public var dropout: Double?
    /// ResNet shortcut of shape-changing blocks; nil for MobileNetV2.
    public var shortcut: Shortcut?

    public init(kind: Kind, classCount: Int, inputChannels: Int = 3, stem: Stem, width: Int? = nil,
                widthMultiplier: Double? = nil, dropout: Double? = nil, shortcut: Shortcut? = nil) {
        self.kind = kind
        self.classCount = classCount
        self.inputChannels = inputChannels
        self.stem = stem
        self.width = width
        self.widthMultiplier = widthMultiplier
        self.dropout = dropout
        self.shortcut = shortcut
    }

    /// 32 for the CIFAR stems, 224 for ImageNet's: the size block shapes are reported at by default.
    public var nominalInputSize: Int { stem == .imageNet ? 224 : 32 }

    public var isResNet: Bool { kind != .mobileNetV2 }

    /// Builds a freshly initialized model (weights from `generator`, seed 0 when nil).
    public func build(generator: Generator? = nil) throws -> any CollapsibleModel {
        switch kind {
        case .mobileNetV2:
            return try MobileNetV2(architecture: self, generator: generator)
        default:
            return try ResNet(architecture: self, generator: generator)
        }
    }

    /// Short human label, e.g. "ResNet-18 (cifar stem, width 64, 10 classes)".
    public var label: String {
        switch kind {
        case .mobileNetV2:
            return "MobileNetV2 (\(stem.rawValue), ×\(widthMultiplier ?? 1), \(classCount) classes)"
        default:
            let depth = kind.rawValue.dropFirst("resNet".count)
            return "ResNet-\(depth) (\(stem.rawValue) stem, width \(width ?? 0), \(classCount) classes)"
        }
    }
}
