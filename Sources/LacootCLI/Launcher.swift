import Foundation
import Glibc
import LacootSupport
import Torch

/// `lacoot train --nproc N …`: starts N copies of this command on this host, one per rank
/// (like torchrun), with `--world-size N --rank R --master 127.0.0.1:PORT` and, unless given,
/// `--threads` = cores ÷ N. Rank 0 keeps its output; the others run `--quiet` (errors only).
/// Ctrl-C and SIGTERM are forwarded to every rank. When a rank fails, the launcher names it,
/// stops the others (SIGTERM, then SIGKILL after 10 s) and exits with that rank's status.
enum Launcher {
    static func run(arguments: [String], ranks: Int, threadsGiven: Bool, deviceHost: String?) throws -> Int32 {
        let port = try freePort()
        let threads = max(1, Runtime.activeCores / ranks)
        var base = removingNproc(arguments)
        if !threadsGiven { base += ["--threads", "\(threads)"] }
        if deviceHost == nil { base += ["--device-host", "127.0.0.1"] }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        FileHandle.standardError.write(Data("starting \(ranks) ranks on this host (rendezvous 127.0.0.1:\(port), \(threadsGiven ? "--threads as given" : "\(threads) thread(s) each"))\n".utf8))
        Forwarding.install()
        var pids: [pid_t] = []
        for rank in 0..<ranks {
            let arguments = [executable] + base + ["--world-size", "\(ranks)", "--rank", "\(rank)", "--master", "127.0.0.1:\(port)"]
                + (rank == 0 ? [] : ["--quiet"])
            pids.append(try spawn(arguments))
        }
        Forwarding.children = pids
        // wait for all; on the first failure, name it and stop the rest
        var status: Int32 = 0
        var running = Set(0..<ranks)
        var deadline: Date?
        while !running.isEmpty {
            for rank in running.sorted() {
                var raw: Int32 = 0
                guard waitpid(pids[rank], &raw, WNOHANG) == pids[rank] else { continue }
                running.remove(rank)
                let signalled = raw & 0x7f != 0
                let code = signalled ? 128 + (raw & 0x7f) : (raw >> 8) & 0xff
                if code != 0, status == 0 {
                    status = code
                    // after a forwarded Ctrl-C or SIGTERM the ranks stop on purpose (rank 0 says where its checkpoint is)
                    if Forwarding.received {
                        deadline = Date().addingTimeInterval(60)
                        continue
                    }
                    let how = signalled ? "was killed by signal \(raw & 0x7f)" : "exited with status \(code)"
                    FileHandle.standardError.write(Data("error: rank \(rank) of \(ranks) \(how); stopping the other ranks\n".utf8))
                    for other in running { kill(pids[other], SIGTERM) }
                    deadline = Date().addingTimeInterval(10)
                }
            }
            if let deadline, Date() > deadline {
                for other in running { kill(pids[other], SIGKILL) }
            }
            usleep(50_000)
        }
        return status
    }

    /// Starts `arguments` (executable first) in a process group of its own, so that a Ctrl-C
    /// at the terminal reaches the launcher alone, which forwards it once.
    private static func spawn(_ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // its own process group, no signal blocked, SIGINT/SIGTERM at their defaults until it installs its handlers
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var none = sigset_t(), stops = sigset_t()
        sigemptyset(&none)
        sigemptyset(&stops)
        sigaddset(&stops, SIGINT)
        sigaddset(&stops, SIGTERM)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &stops)
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], nil, &attributes, &cArguments, environ)
        guard result == 0 else { throw LauncherError("cannot start \(arguments[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    /// The arguments without `--nproc N` / `--nproc=N` and without the executable.
    static func removingNproc(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var skip = false
        for argument in arguments {
            if skip { skip = false; continue }
            if argument == "--nproc" { skip = true; continue }
            if argument.hasPrefix("--nproc=") { continue }
            out.append(argument)
        }
        return out
    }

    /// A TCP port free on the loopback right now (the kernel's choice).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LauncherError("cannot open a socket to find a free port: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw LauncherError("cannot bind a socket to find a free port: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct LauncherError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// Forwards SIGINT and SIGTERM to the ranks (each finishes its step, checkpoints and stops).
private enum Forwarding {
    nonisolated(unsafe) static var children: [pid_t] = []
    /// Whether a signal was forwarded (set in the handler: a plain store).
    nonisolated(unsafe) static var received = false

    /// Before the ranks start (a signal in between is forwarded once they exist: `children`).
    static func install() {
        unblockStopSignals()
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { number in
                Forwarding.received = true
                for pid in Forwarding.children { kill(pid, number) }
            }
        }
    }
}
