import Foundation
import Testing
@testable import Datasets

/// Flowers-102, DTD and FGVC-Aircraft on tiny files in their official layouts.
@Suite struct TransferLayoutTests {
    /// Six flowers (image k filled with byte 10·k), labels 1 2 1 2 1 2; train 1 2, val 3 4, test 6 5.
    func writeFlowers(_ dir: TempDir, compress: MATWriter.Compression = .none) throws {
        for k in 1...6 { try dir.write("f/jpg/image_0000\(k).jpg", try LayoutFixture.flat(UInt8(10 * k))) }
        try dir.write("f/imagelabels.mat", try MATWriter.file([.init(name: "labels", values: [1, 2, 1, 2, 1, 2])], compress: compress))
        try dir.write("f/setid.mat", try MATWriter.file([.init(name: "trnid", values: [1, 2], type: .uint16),
                                                         .init(name: "valid", values: [3, 4], type: .uint8),
                                                         .init(name: "tstid", values: [6, 5], type: .int32)], compress: .deflate))
    }

    @Test func flowers102OfficialSplits() throws {
        for compress in [MATWriter.Compression.none, .stored] {
            let dir = try TempDir()
            try writeFlowers(dir, compress: compress)
            let train = try DatasetKind.flowers102.load(directory: dir.url("f"), train: true, imageSize: 8)
            #expect(LayoutFixture.ids(train) == [10, 20] && train.labels == [0, 1] && train.classNames == ["1", "2"])
            #expect(train.imageShape == [3, 8, 8] && train.name == "flowers102/train")
            let test = try DatasetKind.flowers102.load(directory: dir.url("f"), train: false, imageSize: 8)
            #expect(LayoutFixture.ids(test) == [60, 50] && test.labels == [1, 0])
            let val = try ImageDataset.flowers102(directory: dir.url("f"), split: .validation, imageSize: 4)
            #expect(LayoutFixture.ids(val) == [30, 40] && val.imageShape == [3, 4, 4])
        }
    }

    @Test func flowers102Errors() throws {
        let dir = try TempDir()
        try writeFlowers(dir)
        let setid = dir.url("f/setid.mat"), labels = dir.url("f/imagelabels.mat")
        try FileManager.default.removeItem(atPath: dir.url("f/jpg/image_00005.jpg"))
        let missing = dataError { try ImageDataset.flowers102(directory: dir.url("f"), split: .test, imageSize: 8) }
        #expect(missing == .malformed(file: setid, offset: nil,
                                      reason: "'tstid' element 2: names image '\(dir.url("f/jpg/image_00005.jpg"))', which does not exist"))
        try dir.write("f/setid.mat", try MATWriter.file([.init(name: "trnid", values: [1, 3]), .init(name: "tstid", values: [9])]))
        let onlyOne = dataError { try ImageDataset.flowers102(directory: dir.url("f"), split: .train, imageSize: 8) }
        #expect(onlyOne?.description.contains("'trnid': class '2' has no image in this split") == true)
        #expect(onlyOne?.description.contains(setid) == true)
        let outside = dataError { try ImageDataset.flowers102(directory: dir.url("f"), split: .test, imageSize: 8) }
        #expect(outside == .malformed(file: setid, offset: nil, reason: "'tstid' element 1 is 9.0, not a whole number in 1...6"))
        try dir.write("f/imagelabels.mat", Array("not a mat file".utf8))
        guard case .truncated(labels, _, _)? = dataError({ try ImageDataset.flowers102(directory: dir.url("f"), split: .train, imageSize: 8) }) else {
            Issue.record("a bad imagelabels.mat must name it"); return
        }
        try dir.write("f/imagelabels.mat", [UInt8](repeating: 0x20, count: 200))
        #expect(dataError { try ImageDataset.flowers102(directory: dir.url("f"), split: .train, imageSize: 8) }?.description.contains(labels) == true)
    }

    func writeDTD(_ dir: TempDir) throws {
        for (k, name) in ["banded/banded_0001.jpg", "banded/banded_0002.jpg", "dotted/dotted_0001.jpg", "dotted/dotted_0002.jpg"].enumerated() {
            try dir.write("dtd/images/\(name)", try LayoutFixture.flat(UInt8(10 * (k + 1))))
        }
        try LayoutFixture.text(dir, "dtd/labels/train1.txt", ["banded/banded_0001.jpg", "dotted/dotted_0001.jpg"])
        try LayoutFixture.text(dir, "dtd/labels/test1.txt", ["dotted/dotted_0002.jpg", "", "banded/banded_0002.jpg"])
        try LayoutFixture.text(dir, "dtd/labels/train2.txt", ["dotted/dotted_0002.jpg", "banded/banded_0002.jpg"])
    }

    @Test func dtdSplits() throws {
        let dir = try TempDir()
        try writeDTD(dir)
        let train = try DatasetKind.dtd.load(directory: dir.url("dtd"), train: true, imageSize: 8)
        #expect(LayoutFixture.ids(train) == [10, 30] && train.labels == [0, 1] && train.classNames == ["banded", "dotted"])
        let test = try DatasetKind.dtd.load(directory: dir.url("dtd"), train: false, imageSize: 8)
        #expect(LayoutFixture.ids(test) == [40, 20] && test.labels == [1, 0])
        let second = try DatasetKind.dtd.load(directory: dir.url("dtd"), train: true, imageSize: 8, options: LayoutOptions(splitIndex: 2))
        #expect(LayoutFixture.ids(second) == [40, 20] && second.name == "dtd/train2")
    }

    @Test func dtdErrors() throws {
        let dir = try TempDir()
        try writeDTD(dir)
        let test1 = dir.url("dtd/labels/test1.txt")
        try FileManager.default.removeItem(atPath: dir.url("dtd/images/banded/banded_0002.jpg"))
        let missing = dataError { try ImageDataset.dtd(directory: dir.url("dtd"), split: .test, imageSize: 8) }
        guard case .badAnnotation(test1, 3, _)? = missing else { Issue.record("got \(String(describing: missing))"); return }
        try LayoutFixture.text(dir, "dtd/labels/test1.txt", ["dotted/dotted_0002.jpg"])
        let oneClass = dataError { try ImageDataset.dtd(directory: dir.url("dtd"), split: .test, imageSize: 8) }
        #expect(oneClass == .malformed(file: test1, offset: nil, reason: "class 'banded' has no image in this split (each of the 2 classes needs one)"))
        try LayoutFixture.text(dir, "dtd/labels/test1.txt", ["dotted/dotted_0002.jpg", "striped/striped_0001.jpg"])
        #expect(dataError { try ImageDataset.dtd(directory: dir.url("dtd"), split: .test, imageSize: 8) }?.description
            .contains("'\(test1)' line 2: class 'striped' is not a folder") == true)
        try LayoutFixture.text(dir, "dtd/labels/test1.txt", ["dotted_0002.jpg"])
        guard case .badAnnotation(test1, 1, _)? = dataError({ try ImageDataset.dtd(directory: dir.url("dtd"), split: .test, imageSize: 8) }) else {
            Issue.record("a line without class/ must be refused"); return
        }
        guard case let .missingPath(path, _)? = dataError({ try ImageDataset.dtd(directory: dir.url("dtd"), split: .test, splitIndex: 3, imageSize: 8) }) else {
            Issue.record("a missing split file must be named"); return
        }
        #expect(path == dir.url("dtd/labels/test3.txt"))
        #expect(dataError { try ImageDataset.dtd(directory: dir.url("dtd"), split: .test, splitIndex: 11, imageSize: 8) } != nil)
        #expect(dataError { try DatasetKind.cifar10.load(directory: dir.path, train: true, options: LayoutOptions(splitIndex: 2)) }?
            .description.contains("--split-index applies to dtd only") == true)
    }

    func writeAircraft(_ dir: TempDir) throws {
        for (k, id) in ["0001", "0002", "0003", "0004"].enumerated() {
            try dir.write("fgvc/data/images/\(id).jpg", try LayoutFixture.flat(UInt8(10 * (k + 1))))
        }
        try LayoutFixture.text(dir, "fgvc/data/variants.txt", ["Boeing 707-320", "A300B4", "DHC-1"])
        try LayoutFixture.text(dir, "fgvc/data/images_variant_train.txt", ["0001 Boeing 707-320", "0002 A300B4", "0003 DHC-1"])
        try LayoutFixture.text(dir, "fgvc/data/images_variant_val.txt", ["0004 DHC-1", "0001 Boeing 707-320", "0002 A300B4"])
        try LayoutFixture.text(dir, "fgvc/data/images_variant_test.txt", ["0004 DHC-1", "0002 A300B4", "0003 Boeing 707-320"])
    }

    @Test func aircraftVariantSplits() throws {
        let dir = try TempDir()
        try writeAircraft(dir)
        let train = try DatasetKind.aircraft.load(directory: dir.url("fgvc"), train: true, imageSize: 8)
        #expect(train.classNames == ["Boeing 707-320", "A300B4", "DHC-1"])
        #expect(LayoutFixture.ids(train) == [10, 20, 30] && train.labels == [0, 1, 2])
        let test = try DatasetKind.aircraft.load(directory: dir.url("fgvc/data"), train: false, imageSize: 8)
        #expect(LayoutFixture.ids(test) == [40, 20, 30] && test.labels == [2, 1, 0] && test.name == "aircraft/test")
        let val = try ImageDataset.fgvcAircraft(directory: dir.url("fgvc"), split: .validation, imageSize: 8)
        #expect(LayoutFixture.ids(val) == [40, 10, 20])
    }

    @Test func aircraftErrors() throws {
        let dir = try TempDir()
        try writeAircraft(dir)
        let train = dir.url("fgvc/data/images_variant_train.txt")
        try LayoutFixture.text(dir, "fgvc/data/images_variant_train.txt", ["0001 Boeing 707-320", "0002 A300B4", "0003 Boeing 747"])
        let unknown = dataError { try ImageDataset.fgvcAircraft(directory: dir.url("fgvc"), split: .train, imageSize: 8) }
        #expect(unknown == .badAnnotation(file: train, line: 3, reason: "variant 'Boeing 747' is not in \(dir.url("fgvc/data/variants.txt"))"))
        try LayoutFixture.text(dir, "fgvc/data/images_variant_train.txt", ["0001 Boeing 707-320", "0009 A300B4", "0003 DHC-1"])
        guard case .badAnnotation(train, 2, let reason)? = dataError({ try ImageDataset.fgvcAircraft(directory: dir.url("fgvc"), split: .train, imageSize: 8) }) else {
            Issue.record("a missing image must name the split file and line"); return
        }
        #expect(reason.contains("0009.jpg"))
        try LayoutFixture.text(dir, "fgvc/data/images_variant_train.txt", ["0001 Boeing 707-320", "0002 A300B4"])
        #expect(dataError { try ImageDataset.fgvcAircraft(directory: dir.url("fgvc"), split: .train, imageSize: 8) } ==
            .malformed(file: train, offset: nil, reason: "class 'DHC-1' has no image in this split (each of the 3 classes needs one)"))
    }
}
