import Foundation
import Synchronization

private let interruptRequested = Atomic<Bool>(false)

/// Ctrl-C handling for long runs: the first SIGINT asks the work to stop at the next safe
/// point (the trainer finishes its step and writes a checkpoint); a second one exits at once.
public enum Interrupt {
    /// Installs the SIGINT handler (idempotent).
    public static func install() {
        signal(SIGINT) { _ in
            if interruptRequested.exchange(true, ordering: .relaxed) { _exit(130) }
        }
    }

    /// Whether a stop was requested.
    public static var requested: Bool { interruptRequested.load(ordering: .relaxed) }

    /// Clears the request (tests, or after handling it).
    public static func reset() { interruptRequested.store(false, ordering: .relaxed) }

    /// Requests a stop as Ctrl-C would (tests).
    public static func request() { interruptRequested.store(true, ordering: .relaxed) }
}
