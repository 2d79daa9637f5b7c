import Torch

extension Module {
    /// Runs one forward pass with a ``GraphCapture`` active and returns the output and the
    /// recorded operations, each named by the module it ran in (dotted paths from this module).
    /// The module's mode (training or evaluation) is the caller's choice.
    public final func capture(_ input: Tensor) throws -> (output: Tensor, capture: GraphCapture) {
        var names: [ObjectIdentifier: String] = [:]
        for (name, module) in namedModules() { names[ObjectIdentifier(module)] = name }
        let (output, capture) = try GraphCapture.record(scopeNames: names) { try self(input) }
        return (output, capture)
    }
}
