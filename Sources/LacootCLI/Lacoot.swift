import ArgumentParser
import Foundation
import LaCoOT
import LacootWorkflow
import Torch

/// The `lacoot` command: train with the LaCoOT regularizer, score blocks, collapse, evaluate.
struct Lacoot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lacoot",
        abstract: "Make deep networks shallower: train with LaCoOT, then collapse blocks into the identity without finetuning.",
        discussion: """
        Typical flow:
          lacoot train --run-dir runs/a --lambda 5 --epochs 10
          lacoot score --run-dir runs/a
          lacoot collapse --run-dir runs/a --max-drop 1

        Or all of it, with a λ = 0 baseline and a report: lacoot demo. Weights trained elsewhere come in with lacoot import, and the folder it makes works with every command above.
        """,
        version: "0.1.0",
        subcommands: [DemoCommand.self, ImportCommand.self, TrainCommand.self, CompressCommand.self, ScoreCommand.self, CollapseCommand.self,
                      EvaluateCommand.self, PredictCommand.self, ExportCommand.self, InfoCommand.self]
    )
}

/// An error in what the user asked for, found only at run time (e.g. more blocks than the
/// model has): printed as one line naming the flag, exit code 2 like a parse error.
enum UsageError: Error, CustomStringConvertible {
    /// `--resume` without a checkpoint in the run folder.
    case nothingToResume(runDirectory: String, checkpoint: String)
    /// A new run into a folder that already holds one.
    case runExists(runDirectory: String)
    /// `flag` names a block that is not a collapsible block of `model`.
    case unknownBlock(flag: String, block: String, model: String, collapsible: [String])
    /// `--remove count` asks for more blocks than `model` has.
    case tooManyBlocks(count: Int, model: String, collapsible: [String])
    /// `--model` holds another architecture than the run folder trained.
    case modelMismatch(modelFile: String, runDirectory: String, differences: [String])

    var description: String {
        switch self {
        case let .nothingToResume(runDirectory, checkpoint):
            return "--resume: no checkpoint in \(runDirectory) (expected \(checkpoint))"
        case let .runExists(runDirectory):
            return "\(runDirectory) already holds a run; pass --resume to continue it or choose another --run-dir"
        case let .unknownBlock(flag, block, model, collapsible):
            return "--\(flag): \"\(block)\" is not a collapsible block of \(model) (collapsible: \(collapsible.joined(separator: ", ")))"
        case let .tooManyBlocks(count, model, collapsible):
            return "--remove \(count): \(model) has only \(collapsible.count) collapsible blocks (\(collapsible.joined(separator: ", ")))"
        case let .modelMismatch(modelFile, runDirectory, differences):
            return "--model \(modelFile) is not the architecture \(runDirectory) trained ("
                + differences.joined(separator: "; ") + ", model file vs run)"
        }
    }
}

/// Entry point: one clear line per error on stderr; exit 2 for usage errors, 1 for runtime ones.
@main
enum Main {
    static func main() {
        let command: ParsableCommand
        do {
            command = try Lacoot.parseAsRoot()
        } catch {
            let code = Lacoot.exitCode(for: error)
            if code == .success {
                print(Lacoot.fullMessage(for: error))
                exit(0)
            }
            printError(Lacoot.fullMessage(for: error))
            exit(2)
        }
        do {
            var runnable = command
            try runnable.run()
        } catch let error as UsageError {
            printError("error: \(error)")
            exit(2)
        } catch let error as ValidationError {
            printError("error: \(error.message)")
            exit(2)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            // help requested late, or an argument error found while running
            let code = Lacoot.exitCode(for: error)
            if code == .success {
                print(Lacoot.fullMessage(for: error))
                exit(0)
            }
            if code == .validationFailure {
                printError(Lacoot.fullMessage(for: error))
                exit(2)
            }
            printError("error: \(oneLine(error))")
            exit(1)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

/// The first line of an error's description (libtorch messages can run long).
func oneLine(_ error: Error) -> String {
    let text = String(describing: error)
    return text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? text
}

/// Prints a JSON object on stdout (the `--json` result), sorted keys, one line.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
