import Torch

/// The machine's own yardsticks, measured in the run that uses them: GEMM (1024³) and a
/// ResNet 3×3 convolution (batch 128, 64 → 64 channels, 16×16, channels-last, forward) in
/// fp32 and bf16, in GFLOP/s. A training step's share of them says how close it runs to
/// what the engine can do on this CPU.
struct MachineRates {
    let fp32GEMM: Double, bf16GEMM: Double
    let fp32Conv: Double, bf16Conv: Double

    /// GFLOP/s of a 1024³ matrix product in `dtype`, the median of `reps` timed products.
    static func gemm(_ dtype: DType, reps: Int = 10) throws -> Double {
        let g = try Generator(seed: 2)
        let a = try Tensor.randn([1024, 1024], generator: g).to(dtype), b = try Tensor.randn([1024, 1024], generator: g).to(dtype)
        return 2 * 1024 * 1024 * 1024 / median(try timeReps(reps: reps, warmup: 3) { _ = try withNoGrad { try a.matmul(b) } }) / 1e9
    }

    static func measure() throws -> MachineRates {
        func conv(_ dtype: DType) throws -> Double {
            let g = try Generator(seed: 3)
            let x = try Tensor.randn([128, 64, 16, 16], generator: g).to(dtype).contiguous(.channelsLast)
            let w = try (Tensor.randn([64, 64, 3, 3], generator: g) * 0.05).to(dtype).contiguous(.channelsLast)
            let flops = 2.0 * 128 * 16 * 16 * 64 * 64 * 9
            return flops / median(try timeReps(reps: 10, warmup: 3) {
                _ = try Functional.conv2d(x, weight: w, bias: nil, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
            }) / 1e9
        }
        return try withNoGrad {
            MachineRates(fp32GEMM: try gemm(.float32), bf16GEMM: try gemm(.bfloat16),
                         fp32Conv: try conv(.float32), bf16Conv: try conv(.bfloat16))
        }
    }

    /// The rates beside the width-64 training step's useful GFLOP/s in each precision.
    func table(fp32Step: Double, bf16Step: Double) -> Table {
        var t = Table(["GFLOP/s", "fp32", "bf16", "bf16 ÷ fp32"])
        t.add(["GEMM 1024³", fmt(fp32GEMM, 1), fmt(bf16GEMM, 1), fmt(bf16GEMM / fp32GEMM, 2)])
        t.add(["conv 3×3, 64 → 64, 128 × 16 × 16, channels-last, forward", fmt(fp32Conv, 1), fmt(bf16Conv, 1), fmt(bf16Conv / fp32Conv, 2)])
        t.add(["lacoot's width-64 LaCoOT step (6 × forward MACs per image)", fmt(fp32Step, 1), fmt(bf16Step, 1), fmt(bf16Step / fp32Step, 2)])
        t.add(["step ÷ GEMM (the *_gemm_share keys)", fmt(fp32Step / fp32GEMM, 3), fmt(bf16Step / bf16GEMM, 3), ""])
        return t
    }
}
