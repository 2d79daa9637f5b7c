import Synchronization
import CDataCodecs

/// A decoded image: interleaved pixels (HWC), 8 bits per channel.
public struct DecodedImage: Sendable, Equatable {
    /// `height * width * channels` bytes, row by row, channels interleaved.
    public var pixels: [UInt8]
    public var width: Int
    public var height: Int
    public var channels: Int

    public init(pixels: [UInt8], width: Int, height: Int, channels: Int) {
        self.pixels = pixels
        self.width = width
        self.height = height
        self.channels = channels
    }

    /// The pixels in CHW (planar) order.
    public var planar: [UInt8] {
        var out = [UInt8](repeating: 0, count: pixels.count)
        let plane = width * height
        for i in 0..<plane {
            for c in 0..<channels { out[c * plane + i] = pixels[i * channels + c] }
        }
        return out
    }
}

/// PNG and JPEG decoding and encoding through libpng and libjpeg-turbo, with errors returned
/// as `DataError` (no C library can abort the process from here). Every PNG colour type and
/// depth (palette, gray + alpha, 16 bits: scaled v / 257, as PIL reads them; alpha composited
/// onto black) and baseline, progressive and CMYK JPEGs (converted as PIL's `convert("RGB")`)
/// decode to 1 or 3 channels of 8 bits.
public enum ImageCodec {
    /// The most pixels an image may have — as its header promises, or once resized — before
    /// anything is allocated for it (default 8192 × 8192; `--max-image-pixels`).
    public static let pixelLimit = Atomic<Int>(8192 * 8192)

    /// The formats this module decodes, detected from the first bytes of a file.
    public enum Format: Sendable { case png, jpeg }

    /// The format of `bytes` from its signature, or `nil`.
    public static func format(of bytes: [UInt8]) -> Format? {
        if bytes.count >= 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        return nil
    }

    static func message(_ err: [CChar]) -> String {
        String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes PNG or JPEG bytes into `channels` (1 gray or 3 RGB) channels, converting colour
    /// as needed. `file` names the image in errors.
    public static func decode(_ bytes: [UInt8], channels: Int, file: String = "<memory>") throws -> DecodedImage {
        guard channels == 1 || channels == 3 else {
            throw DataError.invalidArgument("images can be decoded to 1 or 3 channels, not \(channels)")
        }
        guard !bytes.isEmpty else { throw DataError.undecodableImage(file: file, reason: "the file is empty (0 bytes)") }
        guard let format = format(of: bytes) else {
            let head = bytes.prefix(4).map { String($0, radix: 16).leftPadded(2) }.joined(separator: " ")
            throw DataError.undecodableImage(file: file, reason: "neither PNG nor JPEG (starts with \(head.isEmpty ? "nothing" : head))")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0
        let limit = pixelLimit.load(ordering: .relaxed)
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { buf in
            switch format {
            case .png: return cdc_decode_png(buf.baseAddress, buf.count, Int32(channels), limit, &out, &width, &height, &err, err.count)
            case .jpeg: return cdc_decode_jpeg(buf.baseAddress, buf.count, Int32(channels), limit, &out, &width, &height, &err, err.count)
            }
        }
        defer { cdc_free(out) }
        if rc == Int32(CDC_ERR_TOO_LARGE) {
            throw DataError.imageTooLarge(file: file, width: Int(width), height: Int(height), limit: limit)
        }
        guard rc == 0, let out else { throw DataError.undecodableImage(file: file, reason: message(err)) }
        let n = Int(width) * Int(height) * channels
        return DecodedImage(pixels: [UInt8](UnsafeBufferPointer(start: out, count: n)), width: Int(width),
                            height: Int(height), channels: channels)
    }

    /// Reads and decodes an image file.
    public static func decode(file path: String, channels: Int) throws -> DecodedImage {
        try decode(try FileIO.read(path), channels: channels, file: path)
    }

    /// Encodes an image as PNG (lossless).
    public static func encodePNG(_ image: DecodedImage) throws -> [UInt8] {
        try encode(image) { p, w, h, c, out, len, err, errlen in cdc_encode_png(p, w, h, c, out, len, err, errlen) }
    }

    /// Encodes an image as baseline JPEG at `quality` (1...100).
    public static func encodeJPEG(_ image: DecodedImage, quality: Int = 95) throws -> [UInt8] {
        try encode(image) { p, w, h, c, out, len, err, errlen in
            cdc_encode_jpeg(p, w, h, c, Int32(quality), out, len, err, errlen)
        }
    }

    private static func encode(_ image: DecodedImage,
                               _ body: (UnsafePointer<UInt8>?, Int32, Int32, Int32, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>,
                                        UnsafeMutablePointer<Int>, UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> [UInt8] {
        guard image.pixels.count == image.width * image.height * image.channels, image.width > 0, image.height > 0 else {
            throw DataError.invalidArgument("image buffer of \(image.pixels.count) bytes does not match \(image.width)×\(image.height)×\(image.channels)")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = image.pixels.withUnsafeBufferPointer { buf in
            err.withUnsafeMutableBufferPointer { e -> Int32 in
                guard let errBase = e.baseAddress else { return -3 }
                return body(buf.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels), &out, &length,
                            errBase, e.count)
            }
        }
        defer { cdc_free(out) }
        guard rc == 0, let out else { throw DataError.invalidArgument("image encoding failed: \(message(err))") }
        return [UInt8](UnsafeBufferPointer(start: out, count: length))
    }

    // MARK: resizing

    /// Resamples interleaved pixels to `outWidth × outHeight` with a triangle (bilinear) filter
    /// whose support widens when shrinking, so downscaling averages instead of aliasing.
    public static func resize(_ image: DecodedImage, width outWidth: Int, height outHeight: Int) -> DecodedImage {
        if outWidth == image.width && outHeight == image.height { return image }
        let c = image.channels
        let xs = coefficients(input: image.width, output: outWidth)
        let ys = coefficients(input: image.height, output: outHeight)
        // Horizontal pass into floats: height × outWidth × c.
        var tmp = [Float](repeating: 0, count: image.height * outWidth * c)
        for y in 0..<image.height {
            let row = y * image.width * c
            for x in 0..<outWidth {
                let (start, weights) = xs[x]
                for ch in 0..<c {
                    var acc: Float = 0
                    for (k, w) in weights.enumerated() { acc += w * Float(image.pixels[row + (start + k) * c + ch]) }
                    tmp[(y * outWidth + x) * c + ch] = acc
                }
            }
        }
        var out = [UInt8](repeating: 0, count: outHeight * outWidth * c)
        for y in 0..<outHeight {
            let (start, weights) = ys[y]
            for i in 0..<(outWidth * c) {
                var acc: Float = 0
                for (k, w) in weights.enumerated() { acc += w * tmp[(start + k) * outWidth * c + i] }
                out[y * outWidth * c + i] = UInt8(max(0, min(255, acc.rounded())))
            }
        }
        return DecodedImage(pixels: out, width: outWidth, height: outHeight, channels: c)
    }

    /// For each output index: the first input index used and the normalised weights.
    static func coefficients(input: Int, output: Int) -> [(Int, [Float])] {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = filterScale
        return (0..<output).map { o in
            let center = (Double(o) + 0.5) * scale
            let lo = max(Int((center - support + 0.5).rounded(.down)), 0)
            let hi = min(Int((center + support + 0.5).rounded(.down)), input)
            var weights: [Float] = []
            var total = 0.0
            var ws: [Double] = []
            for i in lo..<max(hi, lo + 1) {
                let d = (Double(i) - center + 0.5) / filterScale
                let w = max(0, 1 - abs(d))
                ws.append(w)
                total += w
            }
            if total <= 0 { ws = [1] + Array(repeating: 0, count: ws.count - 1); total = 1 }
            weights = ws.map { Float($0 / total) }
            let start = min(lo, input - 1)
            return (start, Array(weights.prefix(input - start)))
        }
    }

    /// Resizes so the shorter side is `size` (keeping the aspect ratio), then crops the central
    /// `size × size` square — torchvision's `Resize(size)` + `CenterCrop(size)`. The resized
    /// image must stay within ``pixelLimit`` (a 1×200000 strip resized to 64 would not).
    public static func resizeAndCenterCrop(_ image: DecodedImage, size: Int, file: String = "<memory>") throws -> DecodedImage {
        var (w, h) = (image.width, image.height)
        if w <= h { h = max(size, Int(Double(size) * Double(image.height) / Double(image.width))); w = size } else {
            w = max(size, Int(Double(size) * Double(image.width) / Double(image.height))); h = size
        }
        let limit = pixelLimit.load(ordering: .relaxed)
        guard w.multipliedReportingOverflow(by: h).partialValue <= limit, w <= limit, h <= limit else {
            throw DataError.imageTooLarge(file: file, width: w, height: h, limit: limit)
        }
        let resized = resize(image, width: w, height: h)
        return centerCrop(resized, width: size, height: size)
    }

    /// The central `width × height` part of an image at least that large.
    public static func centerCrop(_ image: DecodedImage, width: Int, height: Int) -> DecodedImage {
        if image.width == width && image.height == height { return image }
        let top = (image.height - height) / 2, left = (image.width - width) / 2
        let c = image.channels
        var out = [UInt8](repeating: 0, count: width * height * c)
        for y in 0..<height {
            let src = ((top + y) * image.width + left) * c
            out[(y * width * c)..<((y + 1) * width * c)] = image.pixels[src..<(src + width * c)]
        }
        return DecodedImage(pixels: out, width: width, height: height, channels: c)
    }
}
