import Foundation
import Testing
@testable import Datasets

/// PACS/VLCS-style `<domain>/<class>/` folders: pooled seeded split and leave-one-domain-out.
@Suite struct DomainLayoutTests {
    static let domains = ["art_painting", "photo", "sketch"]
    static let classes = ["dog", "horse"]

    /// Three domains × two classes × `perClass` images; image ids are 1, 2, … in
    /// domain → class → file order.
    func writeDomains(_ dir: TempDir, root: String = "pacs", perClass: Int = 3) throws {
        var id: UInt8 = 1
        for domain in Self.domains {
            for cls in Self.classes {
                for k in 0..<perClass {
                    try dir.write("\(root)/\(domain)/\(cls)/\(k).png", try LayoutFixture.flat(id))
                    id += 1
                }
            }
        }
    }

    @Test func pooledSplitIsSeededDisjointAndCovering() throws {
        let dir = try TempDir()
        try writeDomains(dir)
        let options = LayoutOptions(seed: 7)
        let train = try DatasetKind.pacs.load(directory: dir.url("pacs"), train: true, imageSize: 8, options: options)
        let test = try DatasetKind.pacs.load(directory: dir.url("pacs"), train: false, imageSize: 8, options: options)
        #expect(train.count == 16 && test.count == 2)
        #expect(Set(LayoutFixture.ids(train) + LayoutFixture.ids(test)) == Set(1...18))
        #expect(train.classNames == Self.classes && train.name == "pacs/train" && test.name == "pacs/test")
        // Image id → label: ids 1–3 dog, 4–6 horse, 7–9 dog, …
        for ds in [train, test] {
            for (i, id) in LayoutFixture.ids(ds).enumerated() { #expect(ds.labels[i] == Int64((Int(id) - 1) / 3 % 2)) }
        }
        let again = try DatasetKind.pacs.load(directory: dir.url("pacs"), train: false, imageSize: 8, options: options)
        #expect(LayoutFixture.ids(again) == LayoutFixture.ids(test))
        let seeds = try (0..<6).map { seed in
            LayoutFixture.ids(try DatasetKind.vlcs.load(directory: dir.url("pacs"), train: false, imageSize: 8,
                                                        options: LayoutOptions(seed: UInt64(seed))))
        }
        #expect(Set(seeds).count > 1)
    }

    @Test func leaveOneDomainOut() throws {
        let dir = try TempDir()
        try writeDomains(dir, root: "PACS/kfold", perClass: 2)
        let options = LayoutOptions(targetDomain: "sketch")
        let train = try DatasetKind.pacs.load(directory: dir.url("PACS"), train: true, imageSize: 8, options: options)
        let test = try DatasetKind.pacs.load(directory: dir.url("PACS"), train: false, imageSize: 8, options: options)
        #expect(LayoutFixture.ids(train) == Array(1...8) && train.labels == [0, 0, 1, 1, 0, 0, 1, 1])
        #expect(LayoutFixture.ids(test) == [9, 10, 11, 12] && test.labels == [0, 0, 1, 1] && test.name == "pacs/sketch")
    }

    @Test func domainErrors() throws {
        let dir = try TempDir()
        try writeDomains(dir, perClass: 1)
        let unknown = dataError {
            try DatasetKind.pacs.load(directory: dir.url("pacs"), train: false, imageSize: 8, options: LayoutOptions(targetDomain: "cartoon"))
        }
        #expect(unknown == .invalidArgument("--target-domain 'cartoon' is not a domain of \(dir.url("pacs")); its domains: art_painting, photo, sketch"))
        #expect(dataError { try DatasetKind.dtd.load(directory: dir.path, train: true, options: LayoutOptions(targetDomain: "photo")) }?
            .description.contains("--target-domain applies to pacs and vlcs only") == true)
        try FileManager.default.removeItem(atPath: dir.url("pacs/photo/horse"))
        guard case let .missingPath(path, hint)? = dataError({ try DatasetKind.pacs.load(directory: dir.url("pacs"), train: true, imageSize: 8) }) else {
            Issue.record("a class missing from one domain must be named"); return
        }
        #expect(path == dir.url("pacs/photo/horse") && hint.contains("'art_painting' has 'horse'"))
        try dir.mkdir("pacs/photo/horse")
        #expect(dataError { try DatasetKind.pacs.load(directory: dir.url("pacs"), train: true, imageSize: 8) } ==
            .emptyClassFolder(path: dir.url("pacs/photo/horse")))
    }
}
