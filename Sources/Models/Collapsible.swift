import Costs
import Foundation
import NN
import Torch

/// A block that LaCoOT may regularize and collapse: its input and output have the same shape,
/// so the identity can replace it.
public struct CollapsibleBlock: Codable, Hashable, Sendable {
    /// Dotted module path, e.g. "layer2.1" or "features.5".
    public var name: String
    /// Position among the model's collapsible blocks (input order), from 0.
    public var index: Int
    /// The block's input (= output) shape for one sample, [C, H, W] ([tokens, width] for a ViT),
    /// at the analyzed input size.
    public var shape: [Int]
    /// Parameters inside the block (0 once collapsed).
    public var parameters: Int
    /// MACs of the block at the analyzed input size (ptflops' aten convention; 0 once collapsed).
    public var macs: Int
    /// Whether the block is currently collapsed to the identity.
    public var isCollapsed: Bool

    /// Features per sample (C·H·W): the dimension of the points LaCoOT's distance compares.
    public var featureCount: Int { shape.reduce(1, *) }
}

/// What a forward pass reports for each active collapsible block: its input and output, in the
/// autograd graph of that pass (a loss on them back-propagates into the model).
public struct BlockEvent: @unchecked Sendable {
    public let name: String
    /// The block's ``CollapsibleBlock/index``.
    public let index: Int
    public let input: Tensor
    public let output: Tensor
    /// The output of the block's MLP branch before stochastic depth and the residual add, for
    /// blocks that have one (``FeatureTap/mlpBranch``); nil otherwise.
    public let branch: Tensor?

    /// An event for block `name` (a model of another package reports its blocks with it).
    public init(name: String, index: Int, input: Tensor, output: Tensor, branch: Tensor? = nil) {
        self.name = name
        self.index = index
        self.input = input
        self.output = output
        self.branch = branch
    }

    /// The features ``FeatureTap`` `tap` compares with the input; nil when the block has no
    /// such features (an MLP branch of a convolutional block).
    public func features(_ tap: FeatureTap) -> Tensor? {
        switch tap {
        case .output: output
        case .mlpBranch: branch
        }
    }
}

/// A model whose removable blocks can be listed, observed during the forward pass and
/// collapsed into the identity.
///
/// ```swift
/// let model = try ResNet(.resNet18, classCount: 10, inputChannels: 1)
/// let logits = try model.forward(x) { event in
///     features.append((event.name, event.input, event.output))
/// }
/// try model.collapse("layer4.1")
/// ```
public protocol CollapsibleModel: Module {
    /// The configuration that rebuilds this model (save it in manifests).
    var architecture: ModelArchitecture { get }
    /// Names of every collapsible block, in forward order (collapsed ones included).
    var collapsibleBlockNames: [String] { get }
    /// Forward pass that calls `observe` with the input and output of every collapsible block
    /// that is not collapsed, in order, and returns the logits. Hooks are not global: only this
    /// call observes.
    func forward(_ x: Tensor, observe: (BlockEvent) throws -> Void) throws -> Tensor
}

extension CollapsibleModel {
    /// Names of the blocks currently collapsed to the identity.
    public var collapsedBlocks: Set<String> {
        Set(collapsibleBlockNames.filter { module(at: $0) is Identity })
    }

    /// Collapsible blocks that are still active, in forward order.
    public var activeBlockNames: [String] {
        collapsibleBlockNames.filter { !(module(at: $0) is Identity) }
    }

    /// Replaces a collapsible block with the identity. Every other weight keeps its key.
    /// Throws for a name that is not a collapsible block of this model, or one already collapsed.
    public func collapse(_ name: String) throws {
        try collapse([name])
    }

    /// Collapses several blocks (each checked as by ``collapse(_:)``, all before any is removed).
    public func collapse(_ names: [String]) throws {
        guard Set(names).count == names.count else { throw ModelError.blockListedTwice(names) }
        for name in names {
            guard collapsibleBlockNames.contains(name) else {
                throw ModelError.notCollapsible(block: name, model: architecture.kind.rawValue,
                                                collapsible: collapsibleBlockNames)
            }
            guard !(module(at: name) is Identity) else { throw ModelError.alreadyCollapsed(block: name) }
        }
        for name in names { try replace(name, with: Identity()) }
    }

    /// The input shape for one sample at the architecture's nominal size ([C, 32, 32] for the
    /// CIFAR stems, [C, 224, 224] for ImageNet's).
    public var nominalInputShape: [Int] {
        [architecture.inputChannels, architecture.nominalInputSize, architecture.nominalInputSize]
    }

    /// The collapsible blocks with their shapes and costs for an input of `height` × `width`
    /// (default: the nominal size).
    public func collapsibleBlocks(height: Int? = nil, width: Int? = nil) throws -> [CollapsibleBlock] {
        let h = height ?? architecture.nominalInputSize
        let w = width ?? h
        let report = try CostModel.analyze(self, input: [architecture.inputChannels, h, w], convention: .ptflopsAten)
        return try collapsibleBlockNames.enumerated().map { index, name in
            guard let shape = report.moduleInputShapes[name] else {
                throw ModelError.blockNotReached(block: name)
            }
            let collapsed = module(at: name) is Identity
            let params = module(at: name)?.parameterCount ?? 0
            return CollapsibleBlock(name: name, index: index, shape: Array(shape.dropFirst()), parameters: params,
                                    macs: report.macs(under: name), isCollapsed: collapsed)
        }
    }

    /// The collapsible blocks at the nominal input size.
    public var collapsibleBlocks: [CollapsibleBlock] {
        get throws { try collapsibleBlocks() }
    }

    /// Parameters and MACs for one sample of `height` × `width` (default: nominal size).
    public func cost(height: Int? = nil, width: Int? = nil, convention: MACConvention = .ptflopsAten) throws -> CostReport {
        let h = height ?? architecture.nominalInputSize
        return try CostModel.analyze(self, input: [architecture.inputChannels, h, width ?? h], convention: convention)
    }

    /// What rebuilds this model as it is now (architecture + collapsed blocks, in forward order).
    public var manifest: ModelManifest {
        ModelManifest(architecture: architecture, removedBlocks: collapsibleBlockNames.filter { module(at: $0) is Identity })
    }
}

/// A collapsible block as the forward pass reports it: its name and its index among the
/// model's collapsible blocks.
struct ObservedBlock {
    let name: String
    let index: Int
}

/// Runs the blocks of one stage in order, reporting the collapsible ones (`blocks[j]` tags the
/// stage's j-th entry; nil for a block that is not collapsible). Collapsed blocks (identities)
/// are skipped and not reported.
@inline(__always)
func runStage(_ stage: Sequential, _ input: Tensor, blocks: [ObservedBlock?],
              observe: ((BlockEvent) throws -> Void)?) throws -> Tensor {
    var h = input
    for (slot, tag) in zip(stage.slots, blocks) {
        let block = slot.module
        if block is Identity { continue }
        guard let observe, let tag else {
            h = try block(h)
            continue
        }
        if let branched = block as? BranchedBlock {
            let (out, branch) = try branched.forwardWithBranch(h)
            try observe(BlockEvent(name: tag.name, index: tag.index, input: h, output: out, branch: branch))
            h = out
        } else {
            let out = try block(h)
            try observe(BlockEvent(name: tag.name, index: tag.index, input: h, output: out))
            h = out
        }
    }
    return h
}

/// A stable 64-bit hash (FNV-1a) of a generator's state: seeds sub-generators (Dropout) from
/// the construction generator without drawing from it, so initialization matches PyTorch's
/// draw for draw.
func derivedSeed(from generator: Generator, salt: UInt64) throws -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ salt
    for byte in try generator.state().bytes() {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}
