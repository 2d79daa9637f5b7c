import Foundation
@testable import NN
@testable import Optim
import Serialization
import Testing
import TestSupport
import Torch

/// Our SGD and AdamW against PyTorch's `torch.optim` (PyTorch 2.13, the engine's wheel) over
/// several steps on the same parameters and gradients: a conv weight, a bias and a norm
/// weight, with the options training uses (momentum, weight decay, Nesterov; AdamW's decoupled
/// decay; the weights-only decay scope as two parameter groups).
@Suite(.enabled(if: ReferencePython.hasEngine, ".venv-torch (PyTorch 2.13) is missing: run scripts/setup"))
struct OptimizerParityTests {
    static let script = """
        import sys, torch
        from safetensors.torch import load_file, save_file
        folder, kind = sys.argv[1], sys.argv[2]
        data = load_file(folder + "/in.safetensors")
        names = ["conv.weight", "conv.bias", "bn.weight"]
        params = {n: torch.nn.Parameter(data["init." + n].clone()) for n in names}
        weights = [params["conv.weight"]]; others = [params["conv.bias"], params["bn.weight"]]
        if kind == "sgd":
            opt = torch.optim.SGD(params.values(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        elif kind == "nesterov":
            opt = torch.optim.SGD(params.values(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
        else:
            opt = torch.optim.AdamW([{"params": weights, "weight_decay": 0.05}, {"params": others, "weight_decay": 0.0}],
                                    lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        for step in range(6):
            for n in names: params[n].grad = data[f"grad{step}." + n].clone()
            opt.step()
        out = {"final." + n: params[n].detach() for n in names}
        for n in names:
            for k, v in opt.state[params[n]].items():
                if torch.is_tensor(v) and v.dim() > 0: out[f"{k}.{n}"] = v
        save_file(out, folder + "/out.safetensors")
        """

    func compare(_ kind: String, _ make: ([NamedTensor]) throws -> any Optimizer) throws {
        let g = try Generator(seed: 31)
        let shapes = [("conv.weight", [4, 3, 3, 3]), ("conv.bias", [4]), ("bn.weight", [4])]
        var entries: [NamedTensor] = []
        let params: [NamedTensor] = try shapes.map { name, shape in
            let t = try Tensor.randn(shape, generator: g)
            entries.append(("init." + name, try t.clone()))
            return (name, try t.requiresGrad(true))
        }
        let grads = try (0..<6).map { step in try shapes.map { name, shape -> NamedTensor in
            let grad = try Tensor.randn(shape, generator: g)
            entries.append(("grad\(step)." + name, grad))
            return (name, grad)
        } }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-opt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Safetensors.write(entries, to: folder.appendingPathComponent("in.safetensors"))
        let result = try ReferencePython.run(ReferencePython.engine, ["-c", Self.script, folder.path, kind])
        try #require(result.status == 0, "\(result.errors)")
        let reference = Dictionary(uniqueKeysWithValues: try Safetensors.read(contentsOf: folder.appendingPathComponent("out.safetensors"))
            .tensors.map { ($0.name, $0.tensor) })

        let optimizer = try make(params)
        for step in 0..<6 {
            for ((_, p), (_, grad)) in zip(params, grads[step]) {
                try p.zeroGrad()
                try (p * grad).sum().backward()   // p.grad = grad
            }
            try optimizer.step()
        }
        for (name, p) in params {
            let expected = try #require(reference["final." + name]).floats(), got = try p.floats()
            // ≈ 8 ulp of each value: ours runs ATen's fused SGD/Adam kernels, torch.optim its per-tensor ops
            let worst = zip(expected, got).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
            #expect(worst <= 1e-6, "\(kind) \(name): max |Δ| / max(1, |value|) \(worst)")
        }
        // the optimizer's state equals torch.optim's (momentum buffers; AdamW's two moments)
        let state = Dictionary(uniqueKeysWithValues: try optimizer.state().tensors.map { ($0.name, $0.tensor) })
        for (key, value) in reference where !key.hasPrefix("final.") {
            let ours = try #require(state[key], "\(kind): no \(key) in our state (\(state.keys.sorted()))")
            let worst = zip(try value.floats(), try ours.floats()).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
            #expect(worst <= 1e-6, "\(kind) \(key): max |Δ| / max(1, |value|) \(worst)")
        }
    }

    @Test func sgdMatchesTorchOptim() throws {
        try compare("sgd") { try SGD(parameters: $0, lr: 0.1, momentum: 0.9, weightDecay: 1e-4) }
        try compare("nesterov") { try SGD(parameters: $0, lr: 0.05, momentum: 0.9, weightDecay: 5e-4, nesterov: true) }
    }

    @Test func adamWWithWeightsOnlyDecayMatchesTorchOptim() throws {
        try compare("adamw") { params in
            let adamW = try AdamW(parameters: params, lr: 1e-3, weightDecay: 0.05)
            adamW.weightDecayScope = .weights
            return adamW
        }
    }
}
