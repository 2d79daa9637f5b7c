import CTorch

/// Network kernels as functions, named as in `torch.nn.functional`.
public enum Functional {
    /// 2-D convolution. `stride`, `padding`, `dilation` are (height, width).
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                              padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
                              groups: Int = 1) throws -> Tensor {
        let s = [Int64(stride.0), Int64(stride.1)]
        let p = [Int64(padding.0), Int64(padding.1)]
        let d = [Int64(dilation.0), Int64(dilation.1)]
        return try withExtendedLifetime(bias) {
            traced(try owned(ct_conv2d(x.handle, weight.handle, bias?.handle, s, p, d, Int64(groups))),
                   .conv2d(stride: [stride.0, stride.1], padding: [padding.0, padding.1],
                           dilation: [dilation.0, dilation.1], groups: groups), [x, weight, bias])
        }
    }

    /// y = x Wᵀ + b
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        try withExtendedLifetime(bias) {
            traced(try owned(ct_linear(x.handle, weight.handle, bias?.handle)), .linear, [x, weight, bias])
        }
    }

    /// Batch normalization. In training mode the batch statistics normalize and the running
    /// statistics (if given) move by `momentum`, with the unbiased variance, as PyTorch does.
    public static func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?,
                                 runningVar: Tensor?, training: Bool, momentum: Double = 0.1,
                                 eps: Double = 1e-5) throws -> Tensor {
        try withExtendedLifetime((weight, bias, runningMean, runningVar)) {
            traced(try owned(ct_batch_norm(x.handle, weight?.handle, bias?.handle, runningMean?.handle,
                                           runningVar?.handle, training, momentum, eps)),
                   .batchNorm(training: training, eps: eps), [x, weight, bias, runningMean, runningVar])
        }
    }

    public static func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor?, bias: Tensor?,
                                 eps: Double = 1e-5) throws -> Tensor {
        let shape = normalizedShape.map(Int64.init)
        return try withExtendedLifetime((weight, bias)) {
            traced(try owned(ct_layer_norm(x.handle, shape, Int32(shape.count), weight?.handle, bias?.handle, eps)),
                   .layerNorm(normalizedShape: normalizedShape, eps: eps), [x, weight, bias])
        }
    }

    public static func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil,
                                 padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
                                 ceilMode: Bool = false) throws -> Tensor {
        let k = [Int64(kernel.0), Int64(kernel.1)]
        let st = stride ?? kernel
        let s = [Int64(st.0), Int64(st.1)]
        let p = [Int64(padding.0), Int64(padding.1)]
        let d = [Int64(dilation.0), Int64(dilation.1)]
        return traced(try owned(ct_max_pool2d(x.handle, k, s, p, d, ceilMode)),
                      .maxPool2d(kernel: [kernel.0, kernel.1], stride: [st.0, st.1], padding: [padding.0, padding.1],
                                 dilation: [dilation.0, dilation.1], ceilMode: ceilMode), [x])
    }

    public static func avgPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil,
                                 padding: (Int, Int) = (0, 0), ceilMode: Bool = false,
                                 countIncludePad: Bool = true) throws -> Tensor {
        let k = [Int64(kernel.0), Int64(kernel.1)]
        let st = stride ?? kernel
        let s = [Int64(st.0), Int64(st.1)]
        let p = [Int64(padding.0), Int64(padding.1)]
        return traced(try owned(ct_avg_pool2d(x.handle, k, s, p, ceilMode, countIncludePad)),
                      .avgPool2d(kernel: [kernel.0, kernel.1], stride: [st.0, st.1], padding: [padding.0, padding.1],
                                 ceilMode: ceilMode, countIncludePad: countIncludePad), [x])
    }

    public static func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int)) throws -> Tensor {
        traced(try owned(ct_adaptive_avg_pool2d(x.handle, [Int64(outputSize.0), Int64(outputSize.1)])),
               .adaptiveAvgPool2d(outputSize: [outputSize.0, outputSize.1]), [x])
    }

    public static func softmax(_ x: Tensor, dim: Int) throws -> Tensor {
        traced(try owned(ct_softmax(x.handle, Int64(dim))), .softmax(dim: dim), [x])
    }
    public static func logSoftmax(_ x: Tensor, dim: Int) throws -> Tensor {
        traced(try owned(ct_log_softmax(x.handle, Int64(dim))), .logSoftmax(dim: dim), [x])
    }

    /// Inverted dropout: zeroes with probability `p` and scales by 1/(1-p) in training mode;
    /// the mask comes from `generator` (libtorch's global one when nil).
    public static func dropout(_ x: Tensor, p: Double, training: Bool, generator: Generator?) throws -> Tensor {
        traced(try owned(ct_dropout(x.handle, p, training, generator?.handle)), .dropout(p: p, training: training), [x])
    }

    /// Scaled dot-product attention, `F.scaled_dot_product_attention` (not causal, default
    /// scale): softmax(q kᵀ / √E + mask) v over the last two dimensions, with `query`
    /// [..., L, E], `key` [..., S, E], `value` [..., S, Ev] → [..., L, Ev]. `mask` broadcasts to
    /// [..., L, S]: bool (true where a query may attend) or floating (added to the scores).
    /// libtorch picks its fused kernel. Dropout on the attention weights (`dropout` > 0) draws
    /// from libtorch's global generator; a layer that needs a seeded mask applies it itself.
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                                 dropout: Double = 0) throws -> Tensor {
        try withExtendedLifetime(mask) {
            traced(try owned(ct_scaled_dot_product_attention(query.handle, key.handle, value.handle, mask?.handle, dropout)),
                   .scaledDotProductAttention(dropout: dropout), [query, key, value, mask])
        }
    }

    public enum Reduction: Int32, Sendable { case none = 0, mean = 1, sum = 2 }

    /// Cross-entropy of logits [N, C] against int64 class indices [N], with label smoothing.
    public static func crossEntropy(_ logits: Tensor, target: Tensor, reduction: Reduction = .mean,
                                    labelSmoothing: Double = 0) throws -> Tensor {
        traced(try owned(ct_cross_entropy(logits.handle, target.handle, reduction.rawValue, labelSmoothing)),
               .other("crossEntropy"), [logits, target])
    }
}
