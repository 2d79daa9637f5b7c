import CTorch

extension Tensor {
    /// Back-propagates from this tensor (a scalar, or with `gradient` of its shape).
    public func backward(gradient: Tensor? = nil, retainGraph: Bool = false) throws {
        try withExtendedLifetime(gradient) {
            try check(ct_backward(handle, gradient?.handle, retainGraph))
        }
    }

    /// The accumulated gradient, or nil when none has been computed.
    public var grad: Tensor? {
        get throws {
            guard let h = ct_grad(handle) else {
                if String(cString: ct_last_error()).isEmpty { return nil }
                throw TorchError.last()
            }
            return Tensor(owning: h)
        }
    }

    /// Drops the gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() throws { try check(ct_zero_grad(handle)) }
}

/// Gradients of `outputs` with respect to `inputs` (like `torch.autograd.grad`); nil for an
/// input the outputs do not depend on. `createGraph` keeps the graph for higher derivatives.
public func gradients(of outputs: [Tensor], with inputs: [Tensor], outputGradients: [Tensor]? = nil,
                      createGraph: Bool = false) throws -> [Tensor?] {
    let outs: [OpaquePointer?] = outputs.map { $0.handle }
    let gouts: [OpaquePointer?]? = outputGradients?.map { $0.handle }
    let ins: [OpaquePointer?] = inputs.map { $0.handle }
    var results = [OpaquePointer?](repeating: nil, count: inputs.count)
    try withExtendedLifetime((outputs, inputs, outputGradients)) {
        if let gouts {
            try check(ct_autograd_grad(outs, gouts, Int32(outs.count), ins, Int32(ins.count), &results, createGraph))
        } else {
            try check(ct_autograd_grad(outs, nil, Int32(outs.count), ins, Int32(ins.count), &results, createGraph))
        }
    }
    return results.map { $0.map { Tensor(owning: $0) } }
}

/// Parameter updates fused in C++ (one call per step for the whole parameter list), with
/// PyTorch's exact update rules. Parameters without a gradient are skipped.
public enum FusedUpdate {
    /// SGD; `buffers` holds the momentum buffers, created on the first step.
    public static func sgd(parameters: [Tensor], buffers: inout [Tensor?], lr: Double, momentum: Double,
                           dampening: Double, weightDecay: Double, nesterov: Bool) throws {
        precondition(buffers.count == parameters.count, "one momentum buffer slot per parameter")
        let params: [OpaquePointer?] = parameters.map { $0.handle }
        var bufs: [OpaquePointer?] = buffers.map { $0?.handle }
        let before = bufs
        var mutableParams = params
        try withExtendedLifetime((parameters, buffers)) {
            try check(ct_sgd_step(&mutableParams, &bufs, Int32(params.count), lr, momentum, dampening,
                                  weightDecay, nesterov))
        }
        for i in bufs.indices where before[i] == nil {
            if let h = bufs[i] { buffers[i] = Tensor(owning: h) }
        }
    }

    /// AdamW (decoupled weight decay); `step` counts from 1.
    public static func adamW(parameters: [Tensor], expAvg: inout [Tensor?], expAvgSq: inout [Tensor?], step: Int,
                             lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double) throws {
        precondition(expAvg.count == parameters.count && expAvgSq.count == parameters.count)
        var params: [OpaquePointer?] = parameters.map { $0.handle }
        var m: [OpaquePointer?] = expAvg.map { $0?.handle }
        var v: [OpaquePointer?] = expAvgSq.map { $0?.handle }
        let mBefore = m, vBefore = v
        try withExtendedLifetime((parameters, expAvg, expAvgSq)) {
            try check(ct_adamw_step(&params, &m, &v, Int32(params.count), Int64(step), lr, beta1, beta2, eps,
                                    weightDecay))
        }
        for i in m.indices where mBefore[i] == nil { if let h = m[i] { expAvg[i] = Tensor(owning: h) } }
        for i in v.indices where vBefore[i] == nil { if let h = v[i] { expAvgSq[i] = Tensor(owning: h) } }
    }
}
