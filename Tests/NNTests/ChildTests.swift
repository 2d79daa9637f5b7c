import Testing
@testable import NN
import Torch

/// A module holding a TinyNet under "inner" and a parameter of its own, to test nested paths.
final class Wrapper: Module {
    let inner: Child<TinyNet>
    let scale: Child<Module>

    init(generator: Generator) throws {
        inner = Child("inner", try TinyNet(generator: generator))
        scale = Child("scale", Identity())
        super.init()
        try registerParameter("offset", Tensor.zeros([3]))
        try register(inner, scale)
    }

    override func forward(_ x: Tensor) throws -> Tensor { try scale(inner(x)) }
}

@Suite struct ChildTests {
    @Test func aTypedPropertySeesTheReplacement() throws {
        let net = try TinyNet(generator: Generator(seed: 20))
        let fresh = Identity()
        let old = try net.replace("bn", with: fresh)
        #expect(old is BatchNorm2d)
        #expect(net.bn.module === fresh, "the property and the registry share the slot")
        #expect(net.module(at: "bn") === fresh)
        #expect(net.namedChildren.map(\.name) == ["conv", "bn", "act", "head"])
        // A replacement inside a Sequential reaches its forward pass.
        let relu6 = ReLU6()
        try net.replace("head.0", with: relu6)
        #expect(net.head.module[0] === relu6)
    }

    @Test func aNarrowlyTypedSlotRejectsAnotherTypeNamingThePath() throws {
        let w = try Wrapper(generator: Generator(seed: 21))
        let keys = w.stateDict().map(\.name)
        #expect(keys.first == "offset")
        #expect(throws: ModuleError.wrongChildType(path: "inner.conv", expected: "Conv2d", found: "Identity")) {
            try w.replace("inner.conv", with: Identity())
        }
        #expect(throws: ModuleError.wrongChildType(path: "inner", expected: "TinyNet", found: "ReLU")) {
            try w.replace("inner", with: ReLU())
        }
        #expect(w.stateDict().map(\.name) == keys, "a rejected replacement changes nothing")
        #expect(w.inner.module.conv.module.weight.shape == [4, 2, 3, 3])
        // The same type is accepted, and the typed property returns it.
        let conv = try Conv2d(2, 4, kernelSize: 3, padding: 1, bias: false, generator: Generator(seed: 22))
        try w.replace("inner.conv", with: conv)
        #expect(w.inner.module.conv.module === conv)
        #expect(w.stateDict().map(\.name) == keys.filter { $0 != "inner.conv.bias" })
        do {
            try w.replace("inner.nothing", with: Identity())
            Issue.record("replace of a missing path should throw")
        } catch let ModuleError.noModule(path, _, known) {
            #expect(path == "inner.nothing")
            #expect(known.contains("inner.conv"))
        }
    }

    @Test func keysAndSlotsAreRegisteredOnce() throws {
        let m = Module()
        try m.registerParameter("w", Tensor.zeros([1]))
        #expect(throws: ModuleError.duplicateKey(owner: "Module", key: "w")) { try m.register(Child("w", ReLU())) }
        let a = Child("a", ReLU())
        #expect(throws: ModuleError.duplicateKey(owner: "Module", key: "a")) {
            try m.register(a, Child("a", Identity()))
        }
        #expect(throws: ModuleError.childRegisteredTwice(key: "a", owner: "Module")) { try m.register(a) }
        let other = Module()
        #expect(throws: ModuleError.childRegisteredTwice(key: "a", owner: "Module")) { try other.register(a) }
        #expect(throws: ModuleError.invalidKey(owner: "Module", key: "a.b")) { try m.register(Child("a.b", ReLU())) }
        #expect(m.namedChildren.map(\.name) == ["a"])
        #expect(other.namedChildren.isEmpty)
    }

    @Test func anUnregisteredChildCannotRun() throws {
        let loose = Child("loose", ReLU())
        #expect(throws: ModuleError.unregisteredChild(key: "loose", type: "ReLU")) { try loose(Tensor.zeros([1])) }
    }

    @Test func sequentialKeepsIndexedKeysAndRunsReplacements() throws {
        let seq = Sequential(ReLU(), Identity())
        seq.append(Flatten())
        #expect(seq.namedChildren.map(\.name) == ["0", "1", "2"])
        let x = try Tensor([-1, 2, -3, 4] as [Float], shape: [1, 2, 2])
        #expect(try seq(x).floats() == [0, 2, 0, 4])
        try seq.replace("0", with: Identity())
        #expect(try seq(x).floats() == [-1, 2, -3, 4])
        #expect(seq[0] is Identity)
        #expect(seq.count == 3)
    }
}
