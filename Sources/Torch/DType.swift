import CTorch

/// Element types, numbered as libtorch's `c10::ScalarType`.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, int16 = 2, int32 = 3, int64 = 4
    case float16 = 5, float32 = 6, float64 = 7, bool = 11, bfloat16 = 15

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .int16, .float16, .bfloat16: 2
        case .int32, .float32: 4
        case .int64, .float64: 8
        }
    }

    public var isFloatingPoint: Bool { [.float16, .float32, .float64, .bfloat16].contains(self) }

    public var description: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .float16: "float16"
        case .float32: "float32"
        case .float64: "float64"
        case .bool: "bool"
        case .bfloat16: "bfloat16"
        }
    }
}

/// How a 4-D tensor is laid out in memory.
public enum MemoryFormat: Int32, Sendable {
    case contiguous = 0
    /// NHWC: what oneDNN's convolutions prefer.
    case channelsLast = 1
}

/// Swift element types that map onto a `DType`.
public protocol TensorScalar: Sendable {
    static var dtype: DType { get }
}
extension Float: TensorScalar { public static var dtype: DType { .float32 } }
extension Double: TensorScalar { public static var dtype: DType { .float64 } }
extension Int64: TensorScalar { public static var dtype: DType { .int64 } }
extension Int32: TensorScalar { public static var dtype: DType { .int32 } }
extension UInt8: TensorScalar { public static var dtype: DType { .uint8 } }
extension Bool: TensorScalar { public static var dtype: DType { .bool } }
