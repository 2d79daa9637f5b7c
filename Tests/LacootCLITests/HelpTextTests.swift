import Foundation
import Testing

/// The width the help is rendered at: swift-argument-parser reads `COLUMNS` first, then the
/// terminal's size, and takes 80 when neither is known (a pipe, as here).
private let helpWidth = 80

/// `lacoot ARGS --help` rendered at ``helpWidth`` columns (COLUMNS set explicitly, so the test
/// does not depend on the terminal that runs the suite).
private func help(_ arguments: [String]) throws -> String {
    try lacoot(arguments + ["--help"], within: 60, environment: ["COLUMNS": String(helpWidth)]).out
}

/// Lines of `text` where a paragraph was broken by hand and wrapped again by the parser: a
/// non-blank line shorter than half of `width` that does not end a sentence or a paragraph
/// (its last character is not one of `. : ) ] ! ? ;`) and is not a list or example line
/// (starting with `- `, `• `, `* ` or `lacoot `), followed by a non-blank line at the same
/// indentation that starts with a lowercase letter — the rest of the same sentence. Each
/// finding is "short line ⏎ next line".
func raggedLines(in text: String, width: Int) -> [String] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }
    var found: [String] = []
    for (line, next) in zip(lines, lines.dropFirst()) {
        let body = line.trimmingCharacters(in: .whitespaces)
        guard !body.isEmpty, line.count < width / 2, let last = body.last, !".:)]!?;".contains(last) else { continue }
        guard !["- ", "• ", "* ", "lacoot "].contains(where: { body.hasPrefix($0) }) else { continue }
        let continuation = next.trimmingCharacters(in: .whitespaces)
        guard let first = continuation.first, first.isLowercase, indentation(next) == indentation(line) else { continue }
        found.append("\(line) ⏎ \(next)")
    }
    return found
}

/// Example lines (an indented `lacoot …`) too long for `width`: the parser wrapped them, so
/// the next line is a non-blank line at a smaller indentation.
func wrappedExamples(in text: String) -> [String] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }
    return zip(lines, lines.dropFirst()).compactMap { line, next in
        let example = indentation(line) > 0 && line.trimmingCharacters(in: .whitespaces).hasPrefix("lacoot ")
        let wrapped = !next.trimmingCharacters(in: .whitespaces).isEmpty && indentation(next) < indentation(line)
        return example && wrapped ? "\(line) ⏎ \(next)" : nil
    }
}

@Suite struct HelpTextTests {
    /// The detector finds what `lacoot import --help` printed before its paragraphs were
    /// rewritten (the lines the issue quotes), and passes well-wrapped text and examples.
    @Test func detectorFindsHandBrokenParagraphs() {
        let before = """
            Reads the file without Python (a .pth whose pickle names anything but tensors
            and plain
            containers is refused and never runs), matches its keys against the model under
            PyTorch's
            names, and lists missing, unexpected and mismatched keys when they differ.

            Example:
              lacoot import resnet18.pth --model resnet18 --classes 10 --run-dir runs/ft
              lacoot demo
              lacoot train --run-dir runs/ft --epochs 3 --lambda 1 --lr 0.01
            """
        #expect(raggedLines(in: before, width: 80) == ["and plain ⏎ containers is refused and never runs), matches its keys against the model under",
                                                      "PyTorch's ⏎ names, and lists missing, unexpected and mismatched keys when they differ."])
        let wrapped = """
            Reads the file without Python: a .pth whose pickle names anything but tensors
            and plain containers is refused and never runs.

            USAGE: lacoot import [<options>] <weights> --run-dir <run-dir>
              --out <out>             Output folder. (default: runs/demo)
              --seed <seed>           Seed.
            """
        #expect(raggedLines(in: wrapped, width: 80).isEmpty)
        #expect(wrappedExamples(in: before).isEmpty)
        #expect(wrappedExamples(in: "Example:\n  lacoot train --run-dir runs/ft --dataset cifar10 --data-dir\ndata/cifar-10-batches-bin\n").count == 1)
    }

    /// Every command's help, rendered at 80 columns, reads as paragraphs the parser wrapped:
    /// no short line followed by the rest of its sentence, no example wrapped.
    @Test func everyCommandsHelpIsWrappedParagraphs() throws {
        let root = try help([])
        // the subcommands, as the root help lists them ("  name   abstract")
        let listed = root.components(separatedBy: "SUBCOMMANDS:").dropFirst().first?
            .split(separator: "\n").prefix { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .compactMap { $0.split(separator: " ").first.map(String.init) } ?? []
        #expect(listed.contains("import") && listed.contains("evaluate") && listed.count >= 9, "subcommands: \(listed)")
        for command in [[]] + listed.map({ [$0] }) {
            let text = command.isEmpty ? root : try help(command)
            #expect(text.contains("USAGE:"), "lacoot \(command.joined()) --help printed no help: \(text)")
            let ragged = raggedLines(in: text, width: helpWidth)
            #expect(ragged.isEmpty, "lacoot \(command.joined()) --help has hand-broken lines:\n\(ragged.joined(separator: "\n"))")
            let examples = wrappedExamples(in: text)
            #expect(examples.isEmpty, "lacoot \(command.joined()) --help has examples wider than \(helpWidth):\n\(examples.joined(separator: "\n"))")
        }
    }
}
