import Torch

/// Shape and indexing operations as ONNX operators.
extension CaptureTranslator {
    func translateShape(_ index: Int, _ node: CapturedNode) throws {
        let input = node.inputs[0]!
        let x = try value(input, of: index)
        let scope = node.scope
        let rank = input.rank
        switch node.operation {
        case .reshape, .flatten:
            try emit(index, "Reshape", [x, try reshapeTarget(try outputDimensions(index), scope: scope)])
        case .expand:
            try emit(index, "Expand", [x, try runtimeShape(try outputDimensions(index), scope: scope)])
        case .permute(let dims):
            try emit(index, "Transpose", [x], [Attribute.ints("perm", dims.map { normalized($0, rank) })])
        case .transpose(let a, let b):
            var perm = Array(0..<rank)
            perm.swapAt(normalized(a, rank), normalized(b, rank))
            try emit(index, "Transpose", [x], [Attribute.ints("perm", perm)])
        case .unsqueeze(let dim):
            try emit(index, "Unsqueeze", [x, try builder.int64s([normalized(dim, rank + 1)], name: scope + ".axes")])
        case .squeeze(let dim):
            // torch's squeeze(dim) leaves a dimension that is not 1 as it is
            guard input.shape[normalized(dim, rank)] == 1 else { return try bind(index, to: x) }
            try emit(index, "Squeeze", [x, try builder.int64s([normalized(dim, rank)], name: scope + ".axes")])
        case .cat(let dim):
            let parts = try node.inputs.map { try value($0, of: index) }
            try emit(index, "Concat", parts, [Attribute.int("axis", dim)])
        case .stack(let dim):
            let axes = try builder.int64s([normalized(dim, rank + 1)], name: scope + ".axes")
            let parts = try node.inputs.map { builder.node("Unsqueeze", [try value($0, of: index), axes], scope: scope) }
            try emit(index, "Concat", parts, [Attribute.int("axis", dim)])
        case .narrow(let dim, let start, let length):
            let axis = normalized(dim, rank)
            try emit(index, "Slice", [x, try builder.int64s([start], name: scope + ".starts"),
                                      try builder.int64s([start + length], name: scope + ".ends"),
                                      try builder.int64s([axis], name: scope + ".axes")])
        case .select(let dim, let position):
            let axis = normalized(dim, rank)
            let size = try fixedSize(dimensions(of: input)[axis], node, "select")
            let at = try builder.constant(Tensor([Int64(position < 0 ? position + size : position)], shape: []),
                                          name: scope + ".index")
            try emit(index, "Gather", [x, at], [Attribute.int("axis", axis)])
        case .indexSelect(let dim):
            try emit(index, "Gather", [x, try value(node.inputs[1], of: index)], [Attribute.int("axis", dim)])
        case .gather(let dim):
            try emit(index, "GatherElements", [x, try value(node.inputs[1], of: index)], [Attribute.int("axis", dim)])
        case .pad(let amounts, let fill):
            try translatePad(index, node, x, rank: rank, amounts: amounts, fill: fill)
        case .roll(let shifts, let dims):
            try translateRoll(index, node, x, shifts: shifts, dims: dims)
        default:
            throw ExportError.unsupportedOperation(operation: node.operation.name, module: scope, detail: "no ONNX translation")
        }
    }

    func normalized(_ dim: Int, _ rank: Int) -> Int { dim < 0 ? dim + rank : dim }

    /// torch's (last left, last right, previous left, …) as ONNX's (all begins, all ends).
    private func translatePad(_ index: Int, _ node: CapturedNode, _ x: String, rank: Int, amounts: [Int], fill: Double) throws {
        var begins = [Int](repeating: 0, count: rank), ends = begins
        for pair in 0..<(amounts.count / 2) {
            begins[rank - 1 - pair] = amounts[2 * pair]
            ends[rank - 1 - pair] = amounts[2 * pair + 1]
        }
        guard begins.allSatisfy({ $0 >= 0 }), ends.allSatisfy({ $0 >= 0 }) else {
            throw ExportError.unsupportedOperation(operation: "pad", module: node.scope, detail: "negative padding (cropping)")
        }
        let pads = try builder.int64s(begins + ends, name: node.scope + ".pads")
        let dtype = node.inputs[0]!.dtype
        let value = dtype.isFloatingPoint
            ? try builder.scalar(fill, name: node.scope + ".pad_value")
            : try builder.constant(Tensor([fill], shape: []).to(dtype), name: node.scope + ".pad_value")
        try emit(index, "Pad", [x, pads, value])
    }

    /// torch.roll as two slices and a concatenation per rolled dimension.
    private func translateRoll(_ index: Int, _ node: CapturedNode, _ x: String, shifts: [Int], dims: [Int]) throws {
        let input = node.inputs[0]!
        let scope = node.scope
        var current = x
        for (shift, dim) in zip(shifts, dims) {
            let axis = normalized(dim, input.rank)
            let size = try fixedSize(dimensions(of: input)[axis], node, "roll")
            let s = ((shift % size) + size) % size
            guard s != 0 else { continue }
            let axes = try builder.int64s([axis], name: scope + ".axes")
            let tail = builder.node("Slice", [current, try builder.int64s([size - s], name: scope + ".starts"),
                                              try builder.int64s([size], name: scope + ".ends"), axes], scope: scope)
            let head = builder.node("Slice", [current, try builder.int64s([0], name: scope + ".starts"),
                                              try builder.int64s([size - s], name: scope + ".ends"), axes], scope: scope)
            current = builder.node("Concat", [tail, head], attributes: [Attribute.int("axis", axis)], scope: scope)
        }
        try bind(index, to: current)
    }
}
