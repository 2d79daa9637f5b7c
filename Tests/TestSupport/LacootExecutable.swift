import Foundation

/// The built `lacoot` executable, found next to the running test bundle (`.build/<config>/lacoot`).
public func lacootExecutable() throws -> URL {
    var dir = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("lacoot")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "lacoot executable near \(Bundle.main.bundleURL.path)"])
}
