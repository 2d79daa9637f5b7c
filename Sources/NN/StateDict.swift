import Torch

// MARK: - loading state dicts

/// What ``Module/load(stateDict:strict:)`` found: keys the model has and the dict lacks
/// (`missing`), keys the dict has and the model lacks (`unexpected`), and keys present in both
/// with different shapes.
public struct LoadReport: Sendable, Equatable, CustomStringConvertible {
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var shapeMismatched: [(key: String, expected: [Int], found: [Int])] = []
    public var loaded: Int = 0

    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatched.isEmpty }

    public static func == (a: LoadReport, b: LoadReport) -> Bool {
        a.missing == b.missing && a.unexpected == b.unexpected && a.loaded == b.loaded
            && a.shapeMismatched.map(\.key) == b.shapeMismatched.map(\.key)
    }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        if !shapeMismatched.isEmpty {
            parts.append("shape mismatches: " + shapeMismatched.map { "\($0.key) (model \($0.expected), file \($0.found))" }
                .joined(separator: ", "))
        }
        return parts.isEmpty ? "all \(loaded) tensors loaded" : parts.joined(separator: "; ")
    }
}

/// Thrown by a strict load that found missing, unexpected or mismatched keys.
public struct StateDictError: Error, CustomStringConvertible, Sendable {
    public let report: LoadReport
    public var description: String { "state dict does not match the model: \(report)" }
}

extension Module {
    /// Copies the values of `stateDict` into this tree's parameters and buffers (in place, so
    /// the tensors keep their identity and memory layout; dtypes are converted).
    ///
    /// With `strict` (the default) any missing, unexpected or shape-mismatched key throws a
    /// ``StateDictError`` naming them and nothing is copied. Lenient loading copies the keys that
    /// match and returns the report.
    @discardableResult
    public func load(stateDict: [String: Tensor], strict: Bool = true) throws -> LoadReport {
        var report = LoadReport()
        let own = self.stateDict()
        var plan: [(Tensor, Tensor)] = []
        var ownKeys = Set<String>()
        for (key, target) in own {
            ownKeys.insert(key)
            guard let source = stateDict[key] else { report.missing.append(key); continue }
            // PyTorch stores num_batches_tracked as a 0-d tensor; accept [1] too.
            let sameShape = source.shape == target.shape || (target.rank == 0 && source.elementCount == 1)
            guard sameShape else {
                report.shapeMismatched.append((key, target.shape, source.shape))
                continue
            }
            plan.append((target, source))
        }
        report.unexpected = stateDict.keys.filter { !ownKeys.contains($0) }.sorted()
        if strict && !report.isClean { throw StateDictError(report: report) }
        try withNoGrad {
            for (target, source) in plan {
                try target.copy_(target.rank == 0 && source.rank != 0 ? source.reshape([]) : source)
            }
        }
        report.loaded = plan.count
        return report
    }

    /// ``load(stateDict:strict:)`` from an ordered list (duplicate keys are an error).
    @discardableResult
    public func load(stateDict entries: [NamedTensor], strict: Bool = true) throws -> LoadReport {
        var dict: [String: Tensor] = [:]
        for (k, v) in entries {
            guard dict.updateValue(v, forKey: k) == nil else { throw ModuleError.duplicateStateDictKey(k) }
        }
        return try load(stateDict: dict, strict: strict)
    }
}
