import Foundation
import Torch

// Engine self-check until the LaCoOT commands land (issue 5): prints the engine's
// capabilities and runs one convolution forward and backward.
do {
    print(Runtime.summary)
    let generator = try Generator(seed: 0)
    let x = try Tensor.randn([8, 3, 32, 32], generator: generator)
    let w = try Tensor.randn([16, 3, 3, 3], generator: generator).requiresGrad(true)
    let y = try Functional.conv2d(x, weight: w, padding: (1, 1))
    try y.square().mean().backward()
    print("conv2d forward + backward: output \(y.shape), weight gradient \(try w.grad?.shape ?? [])")
} catch {
    print("error: \(error)")
    exit(1)
}
