import Foundation
import NN
import Serialization

/// Which state dict of a file goes into the model, and under which names: a checkpoint dict
/// may hold several (`model_state_dict`, `ema`, …), and wrappers prefix every key
/// (DataParallel/DDP `module.`, Lightning `model.`, torch.compile `_orig_mod.`, in any
/// combination).
public struct StateDictSelection: Sendable, Equatable {
    /// The prefixes wrappers add, stripped from every key when all keys carry one.
    public static let wrapperPrefixes = ["module.", "_orig_mod.", "model."]

    /// The chosen state dict.
    public let candidate: StateDictCandidate
    /// What was stripped from every key ("" for nothing, "module._orig_mod." for DDP around torch.compile).
    public let strippedPrefix: String

    /// The candidate's names with the prefix stripped.
    public var names: [String] { candidate.names.map { String($0.dropFirst(strippedPrefix.count)) } }

    /// Chooses among `candidates` the state dict that fits `modelKeys` (every file key is a model
    /// key and the model keys it lacks are all under `optionalPrefix`, the classifier when it is
    /// re-initialized), after stripping wrapper prefixes. With `requestedKey` that entry is taken
    /// whatever it holds. When none fits, the closest is taken (loading it then lists the keys
    /// that differ); when several fit, `requestedKey` must choose.
    public static func choose(_ candidates: [StateDictCandidate], modelKeys: Set<String>, optionalPrefix: String? = nil,
                              requestedKey: String?, file: String) throws -> StateDictSelection {
        func select(_ candidate: StateDictCandidate) -> (selection: StateDictSelection, fits: Bool, matched: Int) {
            let prefix = strippable(candidate.names, modelKeys: modelKeys)
            let names = Set(candidate.names.map { String($0.dropFirst(prefix.count)) })
            let missing = modelKeys.subtracting(names)
            let fits = names.isSubset(of: modelKeys)
                && missing.allSatisfy { key in optionalPrefix.map { key.hasPrefix($0) } ?? false }
            return (StateDictSelection(candidate: candidate, strippedPrefix: prefix), fits, names.intersection(modelKeys).count)
        }
        let labels = candidates.map(\.label).joined(separator: ", ")
        if let requestedKey {
            guard let candidate = candidates.first(where: { $0.key == requestedKey }) else {
                throw ImportError.noSuchKey(file: file, key: requestedKey, candidates: candidates.compactMap(\.key))
            }
            return select(candidate).selection
        }
        let judged = candidates.map(select)
        let fitting = judged.filter(\.fits)
        if fitting.count > 1 {
            throw ImportError.ambiguous(file: file, candidates: fitting.map { $0.selection.candidate.key ?? "" })
        }
        if let only = fitting.first { return only.selection }
        guard let closest = judged.max(by: { $0.matched < $1.matched }) else {
            throw ImportError.noStateDict(file: file, found: labels)
        }
        return closest.selection
    }

    /// The chain of wrapper prefixes that every name carries (stripped one at a time while all
    /// names start with one and the names do not already fit the model).
    static func strippable(_ names: [String], modelKeys: Set<String>) -> String {
        var prefix = ""
        var current = names
        while !current.isEmpty, !Set(current).isSubset(of: modelKeys),
              let next = wrapperPrefixes.first(where: { p in current.allSatisfy { $0.hasPrefix(p) } }) {
            prefix += next
            current = current.map { String($0.dropFirst(next.count)) }
        }
        return prefix
    }
}
