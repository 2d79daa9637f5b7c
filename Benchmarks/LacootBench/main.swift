import ArgumentParser
import Foundation

/// Ends the program with the message on stderr, "LacootBench: …" (scripts/bench strips the
/// prefix). One line, but for the PyTorch worker's log tail that some failures quote.
func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data(("LacootBench: " + message + "\n").utf8))
    exit(code)
}

/// Exit codes: 0 done (or help), 1 the run failed, 2 a usage error or an unknown benchmark,
/// 3 the benchmark is not available yet. The last stdout line of a run is its JSON object.
let arguments = Array(CommandLine.arguments.dropFirst())
let first = arguments.first ?? ""
if !first.isEmpty, !first.hasPrefix("-"), !LacootBench.commandNames.contains(first) {
    fail("unknown benchmark \"\(first)\"; one of: \(LacootBench.benchmarkNames.joined(separator: ", "))", code: 2)
}

/// An argument-parser error: help (stdout, exit 0) or one usage line (exit 2).
func exitForParserError(_ error: any Error) -> Never {
    if LacootBench.exitCode(for: error) == .success {   // --help, -h, help NAME
        print(LacootBench.fullMessage(for: error))
        exit(0)
    }
    let scope = LacootBench.benchmarkNames.contains(first) ? first : nil
    let message = LacootBench.message(for: error).split(separator: "\n").joined(separator: "; ")
    fail((scope.map { "\($0): " } ?? "") + message + "; see LacootBench \(scope.map { "\($0) " } ?? "")--help", code: 2)
}

var command: any ParsableCommand
do {
    command = try LacootBench.parseAsRoot(arguments)
} catch {
    exitForParserError(error)
}

do {
    try command.run()
} catch let error as BenchUnavailable {
    fail(error.description, code: 3)
} catch let error as BenchUsageError {
    fail(error.description, code: 2)
} catch let error as BenchFailure {
    fail(error.description, code: 1)
} catch {
    // help asked for (parseAsRoot returns a command that throws it), or an argument error
    exitForParserError(error)
}
