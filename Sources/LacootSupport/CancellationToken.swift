import Foundation
import Synchronization

/// A request to stop long work at its next safe point, shared between whoever asks (a signal
/// handler, a test, a UI) and the work that checks it (``isCancelled``). The trainer, for one,
/// finishes its current step, writes a checkpoint and throws.
///
/// ```swift
/// let token = CancellationToken()
/// trainer.cancellation = token
/// token.installSignalHandlers()      // Ctrl-C and SIGTERM trigger it (CLI only)
/// ```
public final class CancellationToken: Sendable {
    private let state = Atomic<Bool>(false)

    public init() {}

    /// Whether a stop was requested.
    public var isCancelled: Bool { state.load(ordering: .relaxed) }

    /// Requests a stop. Returns whether a stop had already been requested.
    @discardableResult
    public func cancel() -> Bool { state.exchange(true, ordering: .relaxed) }

    /// Clears the request.
    public func reset() { state.store(false, ordering: .relaxed) }

    /// Makes SIGINT (Ctrl-C) and SIGTERM trigger this token; a second signal while a stop is
    /// already pending exits at once (status 130). One token per process holds the signals:
    /// the last one installed wins.
    public func installSignalHandlers() {
        signalToken = self
        unblockStopSignals()
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in
                // No lock and no allocation here: an atomic exchange, then perhaps _exit.
                if let token = signalToken, token.cancel() { _exit(130) }
            }
        }
    }
}

/// The token the signal handler triggers. Set before the handler is installed and only from
/// the main thread (CLI start-up); the handler only reads it.
nonisolated(unsafe) private var signalToken: CancellationToken?

/// Makes SIGINT and SIGTERM deliverable to this thread (and the threads it starts later): a
/// parent may start us with them blocked (Foundation's `Process` does), and a handler then
/// never runs.
public func unblockStopSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}
