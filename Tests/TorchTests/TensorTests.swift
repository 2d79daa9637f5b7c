import Foundation
import Testing
@testable import Torch

@Suite struct TensorTests {
    @Test func roundTripsSwiftArrays() throws {
        let f: [Float] = [1.5, -2, 3.25, 0, 7, 8]
        let t = try Tensor(f, shape: [2, 3])
        #expect(t.shape == [2, 3])
        #expect(t.dtype == .float32)
        #expect(try t.floats() == f)
        #expect(try Tensor([1, -5, 1 << 40] as [Int64], shape: [3]).int64s() == [1, -5, 1 << 40])
        #expect(try Tensor([0, 255, 7] as [UInt8], shape: [3]).uint8s() == [0, 255, 7])
        #expect(try t.transpose(0, 1).contiguous().floats() == [1.5, 0, -2, 7, 3.25, 8])
        #expect(throws: TorchError.self) { try Tensor(f, shape: [4, 2]) }
    }

    @Test func arithmeticBroadcastsAndReduces() throws {
        let a = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
        let b = try Tensor([10, 20] as [Float], shape: [2])
        #expect(try (a + b).floats() == [11, 22, 13, 24])
        #expect(try (a * 2 - 1).floats() == [1, 3, 5, 7])
        #expect(try a.sum(dims: [0]).floats() == [4, 6])
        #expect(try a.matmul(a).floats() == [7, 10, 15, 22])
        let (values, indices) = try Tensor([3, 1, 2] as [Float], shape: [3]).sort()
        #expect(try values.floats() == [1, 2, 3])
        #expect(try indices.int64s() == [1, 2, 0])
    }

    @Test func seededGeneratorsReproduce() throws {
        let a = try Tensor.randn([5], generator: Generator(seed: 42)).floats()
        let b = try Tensor.randn([5], generator: Generator(seed: 42)).floats()
        let c = try Tensor.randn([5], generator: Generator(seed: 43)).floats()
        #expect(a == b)
        #expect(a != c)
        // state save/restore replays the same draws
        let g = try Generator(seed: 7)
        let state = try g.state()
        let first = try Tensor.rand([3], generator: g).floats()
        try g.setState(state)
        #expect(try Tensor.rand([3], generator: g).floats() == first)
    }

    @Test func shapeErrorsThrowWithShapesAndTheProcessContinues() throws {
        let x = try Tensor.zeros([1, 3, 8, 8])
        let w = try Tensor.zeros([4, 5, 3, 3])
        do {
            _ = try Functional.conv2d(x, weight: w)
            Issue.record("conv2d with 3 input channels and a 5-channel weight did not throw")
        } catch let error as TorchError {
            #expect(error.message.contains("[4, 5, 3, 3]"), "\(error.message)")
            #expect(error.message.contains("[1, 3, 8, 8]"), "\(error.message)")
            #expect(!error.message.contains("frame #"), "backtrace leaked: \(error.message)")
        }
        do {
            _ = try Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5]))
            Issue.record("matmul 2x3 by 4x5 did not throw")
        } catch let error as TorchError {
            #expect(error.message.contains("2x3") && error.message.contains("4x5"), "\(error.message)")
        }
        // still working
        #expect(try (Tensor.ones([2]) + 1).floats() == [2, 2])
    }

    @Test func noGradScopeStopsRecording() throws {
        let x = try Tensor.ones([2]).requiresGrad(true)
        let y = try withNoGrad { try x * 3 }
        #expect(!y.requiresGrad)
        #expect(try (x * 3).requiresGrad)
        #expect(isGradEnabled)
    }

    @Test func fusedSGDMatchesPyTorchsRule() throws {
        // one step of SGD(lr 0.1, momentum 0.9, nesterov, weight decay 0.01) on p = [1, -2]
        let p = try Tensor([1, -2] as [Float], shape: [2]).requiresGrad(true)
        try (p * p).sum().backward()          // grad = 2p = [2, -4]
        var buffers: [Tensor?] = [nil]
        try FusedUpdate.sgd(parameters: [p], buffers: &buffers, lr: 0.1, momentum: 0.9, dampening: 0,
                            weightDecay: 0.01, nesterov: true)
        // d = g + wd p = [2.01, -4.02]; buf = d; nesterov: d + 0.9 buf = 1.9 d; p -= 0.1 * 1.9 d
        let expected: [Float] = [1 - 0.19 * 2.01, -2 + 0.19 * 4.02]
        let got = try p.floats()
        #expect(Swift.abs(got[0] - expected[0]) < 1e-6 && Swift.abs(got[1] - expected[1]) < 1e-6)
        #expect(buffers[0] != nil)
    }
}

@Suite(.serialized) struct RuntimeTests {
    @Test func threadCountAtStartUpEqualsActiveCores() throws {
        #expect(Runtime.threadCount == ProcessInfo.processInfo.activeProcessorCount)
        #expect(Runtime.activeCores == ProcessInfo.processInfo.activeProcessorCount)
        // the count also holds on another thread (libtorch keeps it per thread)
        let box = ResultBox()
        let thread = Thread { box.value = Runtime.threadCount }
        thread.start()
        while box.value == nil { Thread.sleep(forTimeInterval: 0.01) }
        #expect(box.value == ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test func reportsTheEngine() {
        #expect(Runtime.version.hasPrefix("1.") || Runtime.version.hasPrefix("2."))
        #expect(!Runtime.buildConfiguration.isEmpty)
    }

    /// Resident memory is the whole process's, and the other suites allocate in parallel: the
    /// measurement runs in a process of its own (this test bundle, filtered to this test).
    @Test func creatingAndDroppingManyTensorsDoesNotLeak() throws {
        guard ProcessInfo.processInfo.environment["LACOOT_LEAK_PROBE"] != nil else {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            probe.arguments = ["--testing-library", "swift-testing", "--filter", "RuntimeTests/creatingAndDroppingManyTensorsDoesNotLeak"]
            probe.environment = ProcessInfo.processInfo.environment.merging(["LACOOT_LEAK_PROBE": "1"]) { $1 }
            let output = Pipe()
            probe.standardOutput = output
            probe.standardError = output
            try probe.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            probe.waitUntilExit()
            #expect(probe.terminationStatus == 0 && text.contains("1 test"), "the measuring process: \(text)")
            return
        }
        func residentKB() -> Int {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        for _ in 0..<2_000 { _ = try Tensor.zeros([16]) + 1 }   // warm the allocator
        let before = residentKB()
        for i in 0..<100_000 {
            let t = try Tensor.full([16], Double(i))
            _ = try t.shape
        }
        let growth = residentKB() - before
        #expect(growth < 4_096, "resident memory grew by \(growth) KB over 100,000 tensors")
    }
}

final class ResultBox: @unchecked Sendable { var value: Int? }

import CTorch

@Suite struct ShimHandleTests {
    /// Null handles never reach libtorch: each entry returns its failure value with an error
    /// naming the function and the argument.
    @Test func nullHandlesAreRejectedWithAnError() throws {
        let x = try Tensor.ones([2, 2])
        #expect(ct_dim(nil) == -1)
        #expect(String(cString: ct_last_error()).contains("ct_dim: the t handle is null"))
        var sizes = [Int64](repeating: 0, count: 4)
        #expect(ct_sizes(nil, &sizes, 4) == -1)
        #expect(ct_numel(nil) == -1)
        #expect(ct_data_ptr(nil) == nil)
        #expect(ct_binary(0, nil, x.handle) == nil)
        #expect(String(cString: ct_last_error()).contains("ct_binary: the a handle"))
        #expect(ct_matmul(x.handle, nil) == nil)
        #expect(String(cString: ct_last_error()).contains("the b handle"))
        #expect(ct_item(nil).isNaN)
        #expect(ct_backward(nil, nil, false) == -1)
        // a real handle still works
        #expect(ct_dim(x.handle) == 2)
    }

    /// An error left on the thread by an earlier failed call (as above) is not mistaken for a
    /// failure of a later call whose answer is "none" or NaN: the ASan run of the suite once
    /// reported a stale `ct_backward` error from `grad` of a parameter without a gradient.
    @Test func aStaleErrorDoesNotLeakIntoLaterCalls() throws {
        _ = ct_backward(nil, nil, false)
        #expect(!String(cString: ct_last_error()).isEmpty)
        let parameter = try Tensor.ones([2]).requiresGrad(true)
        #expect(try parameter.grad == nil)
        _ = ct_dim(nil)
        #expect(try Tensor(scalar: .nan).item().isNaN)
    }
}
