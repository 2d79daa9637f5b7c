/// Per-channel normalization of pixels scaled to [0, 1]: `x = (pixel / 255 − mean[c]) / std[c]`.
public struct Normalization: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Per-channel means of pixel / 255.
    public var mean: [Float]
    /// Per-channel standard deviations of pixel / 255.
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }

    /// Pixels scaled to [0, 1] only (mean 0, std 1), for any channel count.
    public static func unit(channels: Int) -> Normalization {
        Normalization(mean: Array(repeating: 0, count: channels), std: Array(repeating: 1, count: channels))
    }

    /// Fashion-MNIST training-set statistics.
    public static let fashionMNIST = Normalization(mean: [0.2860], std: [0.3530])
    /// MNIST training-set statistics.
    public static let mnist = Normalization(mean: [0.1307], std: [0.3081])
    /// CIFAR-10 training-set statistics.
    public static let cifar10 = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616])
    /// CIFAR-100 training-set statistics.
    public static let cifar100 = Normalization(mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762])
    /// ImageNet statistics (also used for Tiny-ImageNet and other photo folders).
    public static let imageNet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// The published statistics for a dataset name as this module names datasets
    /// ("fashion-mnist/train", "cifar10/test", "tiny-imagenet/val", …), or `nil`.
    public static func known(for datasetName: String) -> Normalization? {
        let base = datasetName.split(separator: "/").first.map(String.init) ?? datasetName
        switch base {
        case "fashion-mnist": return .fashionMNIST
        case "mnist": return .mnist
        case "cifar10": return .cifar10
        case "cifar100", "cifar100-coarse": return .cifar100
        case "tiny-imagenet": return .imageNet
        default: return nil
        }
    }

    /// Per-channel mean and (population) standard deviation of `dataset`'s pixels / 255 — use
    /// the training split, and record the result with the run.
    public static func computed(from dataset: ImageDataset) -> Normalization {
        let c = dataset.channels, plane = dataset.height * dataset.width
        var sums = [UInt64](repeating: 0, count: c), squares = [UInt64](repeating: 0, count: c)
        dataset.pixels.withUnsafeBufferPointer { p in
            for i in 0..<dataset.count {
                for ch in 0..<c {
                    let base = (i * c + ch) * plane
                    var s: UInt64 = 0, q: UInt64 = 0
                    for k in 0..<plane {
                        let v = UInt64(p[base + k])
                        s &+= v
                        q &+= v * v
                    }
                    sums[ch] &+= s
                    squares[ch] &+= q
                }
            }
        }
        let n = Double(max(1, dataset.count * plane))
        var mean: [Float] = [], std: [Float] = []
        for ch in 0..<c {
            let m = Double(sums[ch]) / n / 255
            let v = max(0, Double(squares[ch]) / n / (255 * 255) - m * m)
            mean.append(Float(m))
            std.append(Float(max(v.squareRoot(), 1e-6)))
        }
        return Normalization(mean: mean, std: std)
    }

    /// The float value of each byte for channel `channel`: a 256-entry lookup table.
    func table(channel: Int) -> [Float] {
        let m = mean[channel], s = std[channel]
        return (0..<256).map { (Float($0) / 255 - m) / s }
    }

    public var description: String {
        func f(_ a: [Float]) -> String { "[" + a.map { String(format4: $0) }.joined(separator: ", ") + "]" }
        return "Normalization(mean: \(f(mean)), std: \(f(std)))"
    }
}

extension String {
    /// A float with 4 decimals, without Foundation's formatter.
    init(format4 x: Float) {
        let scaled = (Double(x) * 10_000).rounded()
        let sign = scaled < 0 ? "-" : ""
        let a = Int(abs(scaled))
        self = "\(sign)\(a / 10_000).\(String(a % 10_000).leftPadded(4))"
    }
}
