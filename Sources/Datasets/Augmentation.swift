import Foundation

/// Training-time augmentation, drawn per image from a `SeededGenerator` (reproducible):
/// - `crop`: a random crop of the original size from the image zero-padded by `cropPadding` on
///   each side (torchvision's `RandomCrop(size, padding)`, the reference's CIFAR recipe);
/// - `resized-crop`: ImageNet's random resized crop — a region of 8–100 % of the area with an
///   aspect ratio in [3/4, 4/3] (torchvision's `RandomResizedCrop` parameters, same fallback),
///   resized back to the image's size bilinearly;
/// - `flip`: a horizontal flip with probability ½.
///
/// Written as a list such as `crop,flip`; `none` is the empty list. `crop` and `resized-crop`
/// exclude each other. Which one fits a dataset: `Augmentation.default(for:)`.
public struct Augmentation: Sendable, Equatable, CustomStringConvertible {
    /// Zero padding on each side before the random crop; 0 disables the crop.
    public var cropPadding: Int
    /// Whether to flip horizontally with probability ½.
    public var horizontalFlip: Bool
    /// Whether to take an ImageNet-style random resized crop (excludes `cropPadding`).
    public var resizedCrop: Bool

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false, resizedCrop: Bool = false) {
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
        self.resizedCrop = resizedCrop
    }

    /// No augmentation.
    public static let none = Augmentation()
    /// The reference's CIFAR augmentation: crop with padding 4 and horizontal flip.
    public static let standard = Augmentation(cropPadding: 4, horizontalFlip: true)
    /// ImageNet's training augmentation: random resized crop and horizontal flip.
    public static let imageNetStyle = Augmentation(horizontalFlip: true, resizedCrop: true)

    /// The padding `crop` takes when none is given (the reference's CIFAR value).
    public static let defaultCropPadding = 4

    /// The operations `--augment` accepts, in the order they are written.
    public static let operationNames = ["crop", "resized-crop", "flip"]

    /// Parses `none`, or a comma-separated list of `crop`, `resized-crop` and `flip`.
    /// `cropPadding` is the padding `crop` uses.
    public init(parsing text: String, cropPadding: Int = Augmentation.defaultCropPadding) throws {
        self.init()
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed == "none" { return }
        let names = trimmed.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        for name in names {
            switch name {
            case "crop" where cropPadding <= 0 && !resizedCrop:
                throw DataError.invalidArgument("augmentation: crop needs a padding ≥ 1, got \(cropPadding)")
            case "crop" where !resizedCrop && self.cropPadding == 0: self.cropPadding = cropPadding
            case "resized-crop" where self.cropPadding == 0 && !resizedCrop: resizedCrop = true
            case "flip" where !horizontalFlip: horizontalFlip = true
            case "crop", "resized-crop", "flip":
                throw DataError.invalidArgument("augmentation \"\(text)\": \(name) repeated, or crop with resized-crop")
            default:
                throw DataError.invalidArgument(
                    "augmentation \"\(text)\": unknown \"\(name)\"; use none or a list of crop, resized-crop, flip (e.g. crop,flip)")
            }
        }
    }

    /// The list form, as `init(parsing:)` reads it: `none`, `crop,flip`, `resized-crop,flip`, …
    public var spec: String {
        var names: [String] = []
        if cropPadding > 0 { names.append("crop") }
        if resizedCrop { names.append("resized-crop") }
        if horizontalFlip { names.append("flip") }
        return names.isEmpty ? "none" : names.joined(separator: ",")
    }

    /// `spec`, with the crop's padding when there is a crop: `crop,flip (padding 4)`.
    public var description: String { cropPadding > 0 ? "\(spec) (padding \(cropPadding))" : spec }

    /// Whether this augmentation leaves every image unchanged.
    public var isIdentity: Bool { cropPadding == 0 && !horizontalFlip && !resizedCrop }

    /// The augmentation that fits each dataset by default (the table in docs/DATASETS.md):
    /// MNIST — a small crop and no flip (a mirrored 2, 3, 5, 7 or 9 is no longer that digit);
    /// Fashion-MNIST, CIFAR-10/100 and image folders — crop (padding 4) and flip, the paper's
    /// recipe; the photo datasets at ImageNet-like sizes (Tiny-ImageNet, Flowers-102, DTD,
    /// FGVC-Aircraft, PACS, VLCS) — ImageNet's random resized crop and flip.
    public static func `default`(for dataset: DatasetKind) -> Augmentation {
        switch dataset {
        case .mnist: return Augmentation(cropPadding: 2)
        case .fashionMNIST, .cifar10, .cifar100, .imageFolder: return .standard
        case .tinyImageNet, .flowers102, .dtd, .aircraft, .pacs, .vlcs: return .imageNetStyle
        }
    }

    /// One random draw for one image. With a crop, output pixel `(y, x)` takes source pixel
    /// `(y + offsetY, x + offsetX)` (zero outside the image); with a resized crop, it samples
    /// `region` bilinearly; then the row is mirrored if `flip`.
    public struct Draw: Sendable, Equatable {
        public var offsetY: Int
        public var offsetX: Int
        public var flip: Bool
        /// The resized crop's source region, or nil.
        public var region: Region?
        public init(offsetY: Int = 0, offsetX: Int = 0, flip: Bool = false, region: Region? = nil) {
            self.offsetY = offsetY
            self.offsetX = offsetX
            self.flip = flip
            self.region = region
        }
        /// The draw that changes nothing.
        public static let identity = Draw()
    }

    /// A source rectangle in pixels: rows `top..<top+height`, columns `left..<left+width`.
    public struct Region: Sendable, Equatable {
        public var top: Int, left: Int, height: Int, width: Int
        public init(top: Int, left: Int, height: Int, width: Int) {
            self.top = top
            self.left = left
            self.height = height
            self.width = width
        }
    }

    /// Draws, each only when enabled and in this order: the resized crop's region (needs the
    /// image size), the crop offsets uniformly in `-cropPadding...cropPadding` (as
    /// torchvision's `RandomCrop(size, padding)` picks a corner in `0...2·padding` of the
    /// padded image), the flip with probability ½.
    public func draw(using generator: inout SeededGenerator, height: Int = 0, width: Int = 0) -> Draw {
        var d = Draw()
        if resizedCrop, height > 0, width > 0 {
            d.region = Augmentation.resizedCropRegion(height: height, width: width, using: &generator)
        }
        if cropPadding > 0 {
            d.offsetY = generator.below(2 * cropPadding + 1) - cropPadding
            d.offsetX = generator.below(2 * cropPadding + 1) - cropPadding
        }
        if horizontalFlip { d.flip = generator.next() >> 63 == 1 }
        return d
    }

    /// torchvision's `RandomResizedCrop.get_params` with scale (0.08, 1) and ratio (3/4, 4/3):
    /// up to ten tries of a random area and log-uniform aspect ratio that fit; else the
    /// centre crop of the whole image with its ratio clamped to the range.
    static func resizedCropRegion(height: Int, width: Int, using g: inout SeededGenerator) -> Region {
        let area = Double(height * width)
        let logLow = log(3.0 / 4.0), logHigh = log(4.0 / 3.0)
        for _ in 0..<10 {
            let target = area * (0.08 + 0.92 * Double(g.unitFloat()))
            let ratio = exp(logLow + (logHigh - logLow) * Double(g.unitFloat()))
            let w = Int((target * ratio).squareRoot().rounded())
            let h = Int((target / ratio).squareRoot().rounded())
            if w > 0, w <= width, h > 0, h <= height {
                return Region(top: g.below(height - h + 1), left: g.below(width - w + 1), height: h, width: w)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < 3.0 / 4.0 {
            h = Int((Double(w) / (3.0 / 4.0)).rounded())
        } else if inRatio > 4.0 / 3.0 {
            w = Int((Double(h) * (4.0 / 3.0)).rounded())
        }
        return Region(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// Applies a draw to one CHW image of bytes (the slow, obvious version; the loader fuses the
    /// same mapping with normalization).
    public static func apply(_ draw: Draw, to image: [UInt8], channels: Int, height: Int, width: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: image.count)
        image.withUnsafeBufferPointer { pixels in
            guard let base = pixels.baseAddress else { return }
            for c in 0..<channels {
                for y in 0..<height {
                    for x in 0..<width {
                        let sx0 = draw.flip ? width - 1 - x : x
                        if let region = draw.region {
                            out[(c * height + y) * width + x] = bilinear(base + c * height * width, width: width, region: region,
                                                                         outHeight: height, outWidth: width, y: y, x: sx0)
                            continue
                        }
                        let sy = y + draw.offsetY, sx = sx0 + draw.offsetX
                        guard sy >= 0, sy < height, sx >= 0, sx < width else { continue }
                        out[(c * height + y) * width + x] = base[(c * height + sy) * width + sx]
                    }
                }
            }
        }
        return out
    }

    /// The byte at output pixel `(y, x)` of `region` resized to `outHeight × outWidth`:
    /// bilinear with half-pixel centres (PyTorch's `align_corners=False`), rounded to a byte as
    /// a resized uint8 image is. `plane` is one channel, rows of `width` bytes.
    @inline(__always)
    static func bilinear(_ plane: UnsafePointer<UInt8>, width: Int, region: Region, outHeight: Int, outWidth: Int,
                         y: Int, x: Int) -> UInt8 {
        func source(_ o: Int, _ size: Int, _ out: Int) -> (Int, Int, Float) {
            let s = max(0, (Float(o) + 0.5) * Float(size) / Float(out) - 0.5)
            let i0 = min(Int(s), size - 1)
            return (i0, min(i0 + 1, size - 1), s - Float(i0))
        }
        let (y0, y1, fy) = source(y, region.height, outHeight)
        let (x0, x1, fx) = source(x, region.width, outWidth)
        func at(_ r: Int, _ c: Int) -> Float { Float(plane[(region.top + r) * width + region.left + c]) }
        let top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx
        let bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx
        return UInt8(min(255, max(0, (top + (bottom - top) * fy).rounded())))
    }

    /// Mirrors one CHW image left–right.
    public static func flipHorizontally(_ image: [UInt8], channels: Int, height: Int, width: Int) -> [UInt8] {
        apply(Draw(flip: true), to: image, channels: channels, height: height, width: width)
    }
}

/// Saved as `{"operations": "crop,flip", "cropPadding": 4}` (config.json).
extension Augmentation: Codable {
    private enum CodingKeys: String, CodingKey { case operations, cropPadding }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let operations = try c.decode(String.self, forKey: .operations)
        let padding = try c.decodeIfPresent(Int.self, forKey: .cropPadding) ?? Augmentation.defaultCropPadding
        do {
            try self.init(parsing: operations, cropPadding: padding)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .operations, in: c, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(spec, forKey: .operations)
        if cropPadding > 0 { try c.encode(cropPadding, forKey: .cropPadding) }
    }
}
