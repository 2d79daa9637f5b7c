import Testing
@testable import Torch

@Suite struct PrecisionTests {
    @Test func bf16ScopeRunsConvAndMatmulInBFloat16AndKeepsWeightsFloat32() throws {
        let g = try Generator(seed: 3)
        let x = try Tensor.randn([2, 3, 8, 8], generator: g)
        let w = try Tensor.randn([4, 3, 3, 3], generator: g).requiresGrad(true)
        let out = try withPrecision(.bf16) {
            try Functional.conv2d(x, weight: w, padding: (1, 1))
        }
        #expect(out.dtype == .bfloat16)
        // the same op outside the scope, and under fp32, stays float32
        #expect(try Functional.conv2d(x, weight: w, padding: (1, 1)).dtype == .float32)
        #expect(try withPrecision(.fp32) { try x.flatten(from: 1, to: 3).matmul(x.flatten(from: 1, to: 3).transpose(0, 1)) }.dtype == .float32)
        // bf16 result close to fp32 (bf16 has 8 mantissa bits)
        let reference = try Functional.conv2d(x, weight: w, padding: (1, 1))
        let error = try (out.to(.float32) - reference).abs().amax().item()
        let scale = try reference.abs().amax().item()
        #expect(error > 0)               // it really ran in lower precision
        #expect(error < 0.03 * scale)
        // the gradient reaching the float32 weight is float32
        try out.to(.float32).sum().backward()
        #expect(try w.grad?.dtype == .float32)
        #expect(w.dtype == .float32)
    }

    @Test func fullPrecisionScopeSwitchesAutocastOffAndBack() throws {
        let g = try Generator(seed: 4)
        let a = try Tensor.randn([4, 4], generator: g)
        let (inner, after) = try withPrecision(.bf16) {
            (try withFullPrecision { try a.matmul(a) }, try a.matmul(a))
        }
        #expect(inner.dtype == .float32)
        #expect(after.dtype == .bfloat16)
        #expect(try a.matmul(a).dtype == .float32)   // scope closed
    }

    @Test func devicesResolveAndCPUTensorsStay() throws {
        #expect(try Device.resolve("cpu") == .cpu)
        #expect(try Device.resolve("auto") == (Device.isCUDAAvailable ? .cuda(0) : .cpu))
        #expect(throws: TorchError.self) { try Device.resolve("tpu") }
        let x = try Tensor.randn([3], generator: Generator(seed: 1))
        #expect(x.device == .cpu)
        #expect(try x.to(.cpu) === x)
        if !Device.isCUDAAvailable {
            print("PrecisionTests: no CUDA device here — the CUDA moves are not exercised")
            let error = #expect(throws: TorchError.self) { try Device.resolve("cuda") }
            #expect(error?.message.contains("CUDA is not available") == true)
            #expect(throws: TorchError.self) { try x.to(.cuda(0)) }
        }
    }
}
