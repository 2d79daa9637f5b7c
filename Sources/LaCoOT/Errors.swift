/// A configuration value that is out of range or names something that does not exist. Each
/// case carries the flag it concerns (the CLI flag without its dashes, which is also the
/// configuration field), and prints as one line starting with that flag.
public enum ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The value of `flag` is outside its range; `problem` says which, e.g. "must be ≥ 0, got -1".
    case outOfRange(flag: String, problem: String)
    /// `flag` names a choice that does not exist (e.g. `--dataset`).
    case unknownChoice(flag: String, value: String, choices: [String])
    /// `flag` names a block that is not a collapsible block of the model.
    case unknownBlock(flag: String, block: String, collapsible: [String])
    /// `flag` selects nothing.
    case nothingSelected(flag: String)

    /// The flag concerned, without dashes.
    public var flag: String {
        switch self {
        case let .outOfRange(flag, _), let .unknownChoice(flag, _, _), let .unknownBlock(flag, _, _),
             let .nothingSelected(flag):
            return flag
        }
    }

    public var description: String {
        switch self {
        case let .outOfRange(flag, problem):
            return "--\(flag) \(problem)"
        case let .unknownChoice(flag, value, choices):
            return "--\(flag) \"\(value)\" is unknown; choose one of \(choices.joined(separator: ", "))"
        case let .unknownBlock(flag, block, collapsible):
            return "--\(flag) \"\(block)\" is not a collapsible block of this model (collapsible: \(collapsible.joined(separator: ", ")))"
        case let .nothingSelected(flag):
            return "--\(flag) selects no block"
        }
    }
}

/// Why blocks could not be scored, ordered or collapsed.
public enum CollapseError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A ranked or reverse order needs the distance of `block`, which was not given.
    case missingDistance(block: String)
    /// `count` blocks cannot be removed from a model with `active` active collapsible blocks.
    case cannotRemove(count: Int, active: Int)
    /// `dataset` holds no sample, so `task` ("measure accuracy", "score blocks") is impossible.
    case emptyDataset(dataset: String, task: String)
    /// A copy of the model did not take the original's weights (a bug, not a user error).
    case copyMismatch(report: String)
    /// Block `block` maps inputs of shape `input` to outputs of shape `output`: it cannot be
    /// measured against the identity nor replaced by it (a model that declares a
    /// shape-changing block collapsible).
    case blockChangesShape(block: String, input: [Int], output: [Int])
    /// Block `block` did not report the features the tap `tap` compares (no MLP branch).
    case noFeatures(block: String, tap: String)

    public var description: String {
        switch self {
        case let .missingDistance(block):
            return "no distance for block \"\(block)\": score the model first (lacoot score)"
        case let .cannotRemove(count, active):
            return "cannot remove \(count) blocks: the model has \(active) active collapsible blocks"
        case let .emptyDataset(dataset, task):
            return "cannot \(task) on an empty dataset (\(dataset))"
        case let .copyMismatch(report):
            return "internal: model copy does not match: \(report)"
        case let .blockChangesShape(block, input, output):
            return "block \"\(block)\" maps \(input) to \(output); a collapsible block must keep its input's shape"
        case let .noFeatures(block, tap):
            return "block \"\(block)\" has no \(tap) features to compare (use --tap output)"
        }
    }
}

/// Why a sliced Wasserstein distance cannot be computed between two batches.
public enum DistanceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The batches differ in shape (the first dimension is the sample).
    case shapeMismatch(x: [Int], y: [Int])
    /// The batches hold no sample.
    case noSamples(shape: [Int])

    public var description: String {
        switch self {
        case let .shapeMismatch(x, y):
            return "sliced Wasserstein needs two batches of the same shape, got \(x) and \(y)"
        case let .noSamples(shape):
            return "sliced Wasserstein needs at least one sample, got batches of shape \(shape)"
        }
    }
}
