import CTorch

extension Tensor {
    private func unary(_ op: Int, _ kind: TensorOperation.Unary) throws -> Tensor {
        traced(try owned(ct_unary(Int32(op), handle)), .unary(kind), [self])
    }
    private func binary(_ op: Int, _ kind: TensorOperation.Binary, _ other: Tensor) throws -> Tensor {
        traced(try owned(ct_binary(Int32(op), handle, other.handle)), .binary(kind), [self, other])
    }
    private func binary(_ op: Int, _ kind: TensorOperation.Binary, _ value: Double) throws -> Tensor {
        traced(try owned(ct_binary_scalar(Int32(op), handle, value)), .binaryScalar(kind, value), [self])
    }

    // MARK: unary

    public func neg() throws -> Tensor { try unary(CT_U_NEG, .neg) }
    public func abs() throws -> Tensor { try unary(CT_U_ABS, .abs) }
    public func sqrt() throws -> Tensor { try unary(CT_U_SQRT, .sqrt) }
    public func rsqrt() throws -> Tensor { try unary(CT_U_RSQRT, .rsqrt) }
    public func exp() throws -> Tensor { try unary(CT_U_EXP, .exp) }
    public func log() throws -> Tensor { try unary(CT_U_LOG, .log) }
    public func square() throws -> Tensor { try unary(CT_U_SQUARE, .square) }
    public func sign() throws -> Tensor { try unary(CT_U_SIGN, .sign) }
    public func floor() throws -> Tensor { try unary(CT_U_FLOOR, .floor) }
    public func ceil() throws -> Tensor { try unary(CT_U_CEIL, .ceil) }
    public func round() throws -> Tensor { try unary(CT_U_ROUND, .round) }
    /// The inverse error function (for truncated-normal initialization).
    public func erfinv() throws -> Tensor { try unary(CT_U_ERFINV, .erfinv) }
    public func relu() throws -> Tensor { try unary(CT_U_RELU, .relu) }
    public func relu6() throws -> Tensor { try unary(CT_U_RELU6, .relu6) }
    /// ReLU written into this tensor's own memory (PyTorch's `relu_`), recorded by autograd:
    /// for an activation after a layer whose output nothing else reads. Returns the result (a
    /// new handle on the same tensor; a capture records it as an ordinary ReLU).
    public func relu_() throws -> Tensor {
        traced(try owned(ct_activation_inplace(Int32(CT_U_RELU), handle)), .unary(.relu), [self])
    }
    /// ReLU6 written into this tensor's own memory (PyTorch's `hardtanh_(0, 6)`); see ``relu_()``.
    public func relu6_() throws -> Tensor {
        traced(try owned(ct_activation_inplace(Int32(CT_U_RELU6), handle)), .unary(.relu6), [self])
    }
    /// GELU, exact (erf) or with the tanh approximation.
    public func gelu(tanhApproximation: Bool = false) throws -> Tensor {
        try unary(tanhApproximation ? CT_U_GELU_TANH : CT_U_GELU, tanhApproximation ? .geluTanh : .gelu)
    }
    public func sigmoid() throws -> Tensor { try unary(CT_U_SIGMOID, .sigmoid) }
    public func tanh() throws -> Tensor { try unary(CT_U_TANH, .tanh) }
    public func isFinite() throws -> Tensor { try unary(CT_U_ISFINITE, .isFinite) }
    public func logicalNot() throws -> Tensor { try unary(CT_U_LOGICAL_NOT, .logicalNot) }

    // MARK: binary (broadcasting)

    public func pow(_ exponent: Double) throws -> Tensor { try binary(CT_B_POW, .pow, exponent) }
    public func pow(_ exponent: Tensor) throws -> Tensor { try binary(CT_B_POW, .pow, exponent) }
    public func maximum(_ other: Tensor) throws -> Tensor { try binary(CT_B_MAXIMUM, .maximum, other) }
    public func minimum(_ other: Tensor) throws -> Tensor { try binary(CT_B_MINIMUM, .minimum, other) }
    public func remainder(_ value: Double) throws -> Tensor { try binary(CT_B_REMAINDER, .remainder, value) }
    public func eq(_ other: Tensor) throws -> Tensor { try binary(CT_B_EQ, .eq, other) }
    public func ne(_ other: Tensor) throws -> Tensor { try binary(CT_B_NE, .ne, other) }
    public func lt(_ other: Tensor) throws -> Tensor { try binary(CT_B_LT, .lt, other) }
    public func le(_ other: Tensor) throws -> Tensor { try binary(CT_B_LE, .le, other) }
    public func gt(_ other: Tensor) throws -> Tensor { try binary(CT_B_GT, .gt, other) }
    public func ge(_ other: Tensor) throws -> Tensor { try binary(CT_B_GE, .ge, other) }
    public func eq(_ value: Double) throws -> Tensor { try binary(CT_B_EQ, .eq, value) }
    public func lt(_ value: Double) throws -> Tensor { try binary(CT_B_LT, .lt, value) }
    public func gt(_ value: Double) throws -> Tensor { try binary(CT_B_GT, .gt, value) }
    public func ge(_ value: Double) throws -> Tensor { try binary(CT_B_GE, .ge, value) }
    public func le(_ value: Double) throws -> Tensor { try binary(CT_B_LE, .le, value) }

    /// Clamps to [min, max]; either bound may be nil.
    public func clamp(min lo: Double? = nil, max hi: Double? = nil) throws -> Tensor {
        traced(try owned(ct_clamp(handle, lo ?? 0, hi ?? 0, lo != nil, hi != nil)), .clamp(min: lo, max: hi), [self])
    }

    /// Matrix product with PyTorch's `matmul` broadcasting rules.
    public func matmul(_ other: Tensor) throws -> Tensor {
        traced(try owned(ct_matmul(handle, other.handle)), .matmul, [self, other])
    }

    // MARK: operators

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_B_ADD, .add, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_B_SUB, .sub, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_B_MUL, .mul, b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_B_DIV, .div, b) }
    public static func + (a: Tensor, b: Double) throws -> Tensor { try a.binary(CT_B_ADD, .add, b) }
    public static func - (a: Tensor, b: Double) throws -> Tensor { try a.binary(CT_B_SUB, .sub, b) }
    public static func * (a: Tensor, b: Double) throws -> Tensor { try a.binary(CT_B_MUL, .mul, b) }
    public static func / (a: Tensor, b: Double) throws -> Tensor { try a.binary(CT_B_DIV, .div, b) }
    public static func + (a: Double, b: Tensor) throws -> Tensor { try b.binary(CT_B_ADD, .add, a) }
    public static func * (a: Double, b: Tensor) throws -> Tensor { try b.binary(CT_B_MUL, .mul, a) }
    public static func - (a: Double, b: Tensor) throws -> Tensor { try b.neg().binary(CT_B_ADD, .add, a) }
    public static prefix func - (a: Tensor) throws -> Tensor { try a.neg() }

    // MARK: in place (no autograd tracking; for optimizers, initializers, statistics)

    /// self += alpha * other
    public func add_(_ other: Tensor, alpha: Double = 1) throws {
        tracedInPlace("add_", self, [other])
        try check(ct_inplace(Int32(CT_I_ADD), handle, other.handle, alpha))
    }
    public func sub_(_ other: Tensor, alpha: Double = 1) throws {
        tracedInPlace("sub_", self, [other])
        try check(ct_inplace(Int32(CT_I_SUB), handle, other.handle, alpha))
    }
    public func mul_(_ other: Tensor) throws { tracedInPlace("mul_", self, [other]); try check(ct_inplace(Int32(CT_I_MUL), handle, other.handle, 1)) }
    public func div_(_ other: Tensor) throws { tracedInPlace("div_", self, [other]); try check(ct_inplace(Int32(CT_I_DIV), handle, other.handle, 1)) }
    /// Copies `other`'s values into self (broadcasting, converting dtype).
    public func copy_(_ other: Tensor) throws { tracedInPlace("copy_", self, [other]); try check(ct_inplace(Int32(CT_I_COPY), handle, other.handle, 1)) }
    public func add_(_ value: Double) throws {
        tracedInPlace("add_", self, [])
        try check(ct_inplace_scalar(Int32(CT_I_ADD), handle, value))
    }
    public func mul_(_ value: Double) throws {
        tracedInPlace("mul_", self, [])
        try check(ct_inplace_scalar(Int32(CT_I_MUL), handle, value))
    }
    public func div_(_ value: Double) throws {
        tracedInPlace("div_", self, [])
        try check(ct_inplace_scalar(Int32(CT_I_DIV), handle, value))
    }
    public func fill_(_ value: Double) throws {
        tracedInPlace("fill_", self, [])
        try check(ct_inplace_scalar(Int32(CT_I_COPY), handle, value))
    }
    public func zero_() throws {
        tracedInPlace("zero_", self, [])
        try check(ct_zero_(handle))
    }
    /// self += value * a * b
    public func addcmul_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
        tracedInPlace("addcmul_", self, [a, b])
        try check(ct_addcmul_(handle, a.handle, b.handle, value))
    }
    /// self += value * a / b
    public func addcdiv_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
        tracedInPlace("addcdiv_", self, [a, b])
        try check(ct_addcdiv_(handle, a.handle, b.handle, value))
    }
}
