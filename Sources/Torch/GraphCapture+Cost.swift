extension GraphCapture {
    /// Multiply-accumulates of the recorded products, counted as ptflops' `aten` backend and
    /// PyTorch's flop counter do: convolutions (output elements × in/groups × kh × kw), linear
    /// layers and matrix products (output elements × the reduced dimension), attention as its
    /// two products; everything else counts zero. For the model's own count, capture a batch
    /// of one.
    public var macs: Int {
        nodes.reduce(0) { $0 + Self.macs(of: $1) }
    }

    /// The multiply-accumulates of one node (0 for an operation without products).
    public static func macs(of node: CapturedNode) -> Int {
        guard let output = node.outputs.first else { return 0 }
        let outputs = output.elementCount
        switch node.operation {
        case .conv2d:
            guard let weight = node.inputs[1], weight.rank == 4 else { return 0 }
            let w = weight.shape
            return outputs * w[1] * w[2] * w[3]
        case .linear:
            guard let weight = node.inputs[1] else { return 0 }
            return outputs * (weight.shape.last ?? 0)
        case .matmul:
            guard let a = node.inputs[0] else { return 0 }
            return outputs * (a.shape.last ?? 0)
        case .scaledDotProductAttention:
            guard let query = node.inputs[0], let key = node.inputs[1] else { return 0 }
            let q = query.shape, k = key.shape
            guard q.count >= 2, k.count >= 2 else { return 0 }
            // scores: [..., L, S] from an inner dimension E; output [..., L, Ev] from S.
            let scores = (query.elementCount / q[q.count - 1]) * k[k.count - 2]
            return scores * q[q.count - 1] + outputs * k[k.count - 2]
        default:
            return 0
        }
    }
}
