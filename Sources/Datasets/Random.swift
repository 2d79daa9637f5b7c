/// The seeded pseudo-random generator used for every random draw of the Data target
/// (splits, shuffles, augmentation): xoshiro256** (Blackman & Vigna), its state filled from
/// the seed by SplitMix64. The algorithms are fixed here, not taken from the standard
/// library, so the same seed gives the same splits, orders and augmentations on every
/// platform and Swift version.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose whole sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var sm = seed
        s0 = SeededGenerator.splitMix(&sm)
        s1 = SeededGenerator.splitMix(&sm)
        s2 = SeededGenerator.splitMix(&sm)
        s3 = SeededGenerator.splitMix(&sm)
    }

    /// A generator for one stream of a seeded family, e.g. `(seed, epoch, purpose)`.
    public init(seed: UInt64, stream: UInt64...) {
        var h = SeededGenerator.mix(seed)
        for s in stream { h = SeededGenerator.mix(h ^ SeededGenerator.mix(s &+ 0x9E37_79B9_7F4A_7C15)) }
        self.init(seed: h)
    }

    /// SplitMix64 step (Steele, Lea & Flood): advances `state` and returns a well-mixed word.
    @inline(__always)
    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }

    /// SplitMix64's finaliser: a bijective 64-bit mix.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = SeededGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = SeededGenerator.rotl(s3, 45)
        return result
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-and-reject method, exact).
    @inline(__always)
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// A uniform float in [0, 1).
    public mutating func unitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A random permutation of `0..<count` (Fisher–Yates with `below`).
    public mutating func permutation(_ count: Int) -> [Int] {
        var a = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = below(i + 1)
            a.swapAt(i, j)
            i -= 1
        }
        return a
    }
}
