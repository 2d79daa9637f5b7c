import Datasets
import Foundation
import Testing
@testable import LacootWorkflow

/// The transfer datasets through `PreparedData`, and configuration files from before them.
@Suite struct TransferDataTests {
    /// `<domain>/<class>/` folders: three domains × two classes × five 8×8 PNGs.
    func writeDomains() throws -> URL {
        let root = try temporaryFolder("lacoot-pacs")
        for domain in ["art", "photo", "sketch"] {
            for cls in ["dog", "horse"] {
                let folder = root.appendingPathComponent("\(domain)/\(cls)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for k in 0..<5 {
                    let image = DecodedImage(pixels: [UInt8](repeating: UInt8(k * 40), count: 8 * 8 * 3), width: 8, height: 8, channels: 3)
                    try Data(try ImageCodec.encodePNG(image)).write(to: folder.appendingPathComponent("\(k).png"))
                }
            }
        }
        return root
    }

    @Test func pooledDomainsSplitEightyTenTen() throws {
        let root = try writeDomains()
        defer { try? FileManager.default.removeItem(at: root) }
        var config = DataConfig()
        config.dataset = "pacs"
        config.directory = root.path
        config.imageSize = 8
        let data = try PreparedData.prepare(config)
        #expect((data.train.count, data.validation.count, data.test.count) == (24, 3, 3))
        #expect(data.normalization == .imageNet && data.classNames == ["dog", "horse"])
        config.targetDomain = "photo"
        let held = try PreparedData.prepare(config)
        #expect((held.train.count, held.validation.count, held.test.count) == (18, 2, 10))
        #expect(held.label.hasPrefix("pacs → photo"))
    }

    @Test func oldConfigFilesStillDecode() throws {
        let json = #"{"dataset":"cifar10","validationFraction":0.1,"padTo":32,"splitSeed":0}"#
        let config = try JSONDecoder().decode(DataConfig.self, from: Data(json.utf8))
        #expect(config.splitIndex == nil && config.targetDomain == nil && config.dataset == "cifar10")
        var dtd = DataConfig()
        dtd.dataset = "dtd"
        dtd.splitIndex = 3
        let round = try JSONDecoder().decode(DataConfig.self, from: JSONEncoder().encode(dtd))
        #expect(round == dtd)
    }
}
