import CTorch

extension Tensor {
    private func unary(_ op: Int) throws -> Tensor { try owned(ct_unary(Int32(op), handle)) }
    private func binary(_ op: Int, _ other: Tensor) throws -> Tensor {
        try owned(ct_binary(Int32(op), handle, other.handle))
    }
    private func binary(_ op: Int, _ value: Double) throws -> Tensor {
        try owned(ct_binary_scalar(Int32(op), handle, value))
    }

    // MARK: unary

    public func neg() throws -> Tensor { try unary(CT_U_NEG) }
    public func abs() throws -> Tensor { try unary(CT_U_ABS) }
    public func sqrt() throws -> Tensor { try unary(CT_U_SQRT) }
    public func rsqrt() throws -> Tensor { try unary(CT_U_RSQRT) }
    public func exp() throws -> Tensor { try unary(CT_U_EXP) }
    public func log() throws -> Tensor { try unary(CT_U_LOG) }
    public func square() throws -> Tensor { try unary(CT_U_SQUARE) }
    public func sign() throws -> Tensor { try unary(CT_U_SIGN) }
    public func floor() throws -> Tensor { try unary(CT_U_FLOOR) }
    public func ceil() throws -> Tensor { try unary(CT_U_CEIL) }
    public func round() throws -> Tensor { try unary(CT_U_ROUND) }
    /// The inverse error function (for truncated-normal initialization).
    public func erfinv() throws -> Tensor { try unary(CT_U_ERFINV) }
    public func relu() throws -> Tensor { try unary(CT_U_RELU) }
    public func relu6() throws -> Tensor { try unary(CT_U_RELU6) }
    /// GELU, exact (erf) or with the tanh approximation.
    public func gelu(tanhApproximation: Bool = false) throws -> Tensor {
        try unary(tanhApproximation ? CT_U_GELU_TANH : CT_U_GELU)
    }
    public func sigmoid() throws -> Tensor { try unary(CT_U_SIGMOID) }
    public func tanh() throws -> Tensor { try unary(CT_U_TANH) }
    public func isFinite() throws -> Tensor { try unary(CT_U_ISFINITE) }
    public func logicalNot() throws -> Tensor { try unary(CT_U_LOGICAL_NOT) }

    // MARK: binary (broadcasting)

    public func pow(_ exponent: Double) throws -> Tensor { try binary(CT_B_POW, exponent) }
    public func pow(_ exponent: Tensor) throws -> Tensor { try binary(CT_B_POW, exponent) }
    public func maximum(_ other: Tensor) throws -> Tensor { try binary(CT_B_MAXIMUM, other) }
    public func minimum(_ other: Tensor) throws -> Tensor { try binary(CT_B_MINIMUM, other) }
    public func remainder(_ value: Double) throws -> Tensor { try binary(CT_B_REMAINDER, value) }
    public func eq(_ other: Tensor) throws -> Tensor { try binary(CT_B_EQ, other) }
    public func ne(_ other: Tensor) throws -> Tensor { try binary(CT_B_NE, other) }
    public func lt(_ other: Tensor) throws -> Tensor { try binary(CT_B_LT, other) }
    public func le(_ other: Tensor) throws -> Tensor { try binary(CT_B_LE, other) }
    public func gt(_ other: Tensor) throws -> Tensor { try binary(CT_B_GT, other) }
    public func ge(_ other: Tensor) throws -> Tensor { try binary(CT_B_GE, other) }
    public func eq(_ value: Double) throws -> Tensor { try binary(CT_B_EQ, value) }
    public func lt(_ value: Double) throws -> Tensor { try binary(CT_B_LT, value) }
    public func gt(_ value: Double) throws -> Tensor { try binary(CT_B_GT, value) }
    public func ge(_ value: Double) throws -> Tensor { try binary(CT_B_GE, value) }
    public func le(_ value: Double) throws -> Tensor { try binary(CT_B_LE, value) }

    /// Clamps to [min, max]; either bound may be nil.
    public func clamp(min lo: Double? = nil, max hi: Double? = nil) throws -> Tensor {
        try owned(ct_clamp(handle, lo ?? 0, hi ?? 0, lo != nil, hi != nil))
    }

    /// Matrix product with PyTorch's `matmul` broadcasting rules.
    public func matmul(_ other: Tensor) throws -> Tensor { try owned(ct_matmul(handle, other.handle)) }

    // MARK: operators

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_B_ADD, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_B_SUB, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_B_MUL, b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_B_DIV, b) }
    public static func + (a: Tensor, b: Double) throws -> Tensor { try a.binary(CT_B_ADD, b) }
    public static func - (a: Tensor, b: Double) throws -> Tensor { try a.binary(CT_B_SUB, b) }
    public static func * (a: Tensor, b: Double) throws -> Tensor { try a.binary(CT_B_MUL, b) }
    public static func / (a: Tensor, b: Double) throws -> Tensor { try a.binary(CT_B_DIV, b) }
    public static func + (a: Double, b: Tensor) throws -> Tensor { try b.binary(CT_B_ADD, a) }
    public static func * (a: Double, b: Tensor) throws -> Tensor { try b.binary(CT_B_MUL, a) }
    public static func - (a: Double, b: Tensor) throws -> Tensor { try b.neg().binary(CT_B_ADD, a) }
    public static prefix func - (a: Tensor) throws -> Tensor { try a.neg() }

    // MARK: in place (no autograd tracking; for optimizers, initializers, statistics)

    /// self += alpha * other
    public func add_(_ other: Tensor, alpha: Double = 1) throws {
        try check(ct_inplace(Int32(CT_I_ADD), handle, other.handle, alpha))
    }
    public func sub_(_ other: Tensor, alpha: Double = 1) throws {
        try check(ct_inplace(Int32(CT_I_SUB), handle, other.handle, alpha))
    }
    public func mul_(_ other: Tensor) throws { try check(ct_inplace(Int32(CT_I_MUL), handle, other.handle, 1)) }
    public func div_(_ other: Tensor) throws { try check(ct_inplace(Int32(CT_I_DIV), handle, other.handle, 1)) }
    /// Copies `other`'s values into self (broadcasting, converting dtype).
    public func copy_(_ other: Tensor) throws { try check(ct_inplace(Int32(CT_I_COPY), handle, other.handle, 1)) }
    public func add_(_ value: Double) throws { try check(ct_inplace_scalar(Int32(CT_I_ADD), handle, value)) }
    public func mul_(_ value: Double) throws { try check(ct_inplace_scalar(Int32(CT_I_MUL), handle, value)) }
    public func div_(_ value: Double) throws { try check(ct_inplace_scalar(Int32(CT_I_DIV), handle, value)) }
    public func fill_(_ value: Double) throws { try check(ct_inplace_scalar(Int32(CT_I_COPY), handle, value)) }
    public func zero_() throws { try check(ct_zero_(handle)) }
    /// self += value * a * b
    public func addcmul_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
        try check(ct_addcmul_(handle, a.handle, b.handle, value))
    }
    /// self += value * a / b
    public func addcdiv_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
        try check(ct_addcdiv_(handle, a.handle, b.handle, value))
    }
}
