import AuthDoctorCore
import Foundation


/// A 64-bit key of bytes, eight at a time (multiply-xorshift rounds, murmur3's finaliser): compact keys for ids and
/// emails in the audit's indexes, never 0. With a million users the chance that two different ids share a key is
/// about 3 in 100 million.
@inline(__always)
func hashKey(_ p: UnsafePointer<UInt8>?, _ n: Int) -> UInt64 {
    let m: UInt64 = 0xFF51_AFD7_ED55_8CCD
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: n)
    var i = 0
    if let p, n > 0 {
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* m
            h ^= h >> 32
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            for k in 0..<(n - i) { w |= UInt64(p[i + k]) << UInt64(8 * k) }
            h = (h ^ w) &* m
            h ^= h >> 32
        }
    }
    h ^= h >> 33
    h = h &* 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 33
    return h == 0 ? 1 : h
}

func hashKey(_ s: String) -> UInt64 {
    var s = s
    return s.withUTF8 { hashKey($0.baseAddress, $0.count) }
}

/// An open-addressing map from the audit's 64-bit keys (already well mixed) to an Int32: several times faster
/// than a Dictionary, whose SipHash would hash the hash again.
struct KeyMap {
    private var keys: [UInt64]
    private var values: [Int32]
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        var i = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
        while keys[i] != 0 && keys[i] != key { i = (i + 1) & mask }
        return i
    }

    /// The value for `key` (0 is never a key: `hashKey` avoids it), or nil.
    subscript(key: UInt64) -> Int32? {
        guard key != 0 else { return nil }
        let i = slot(key)
        return keys[i] == key ? values[i] : nil
    }

    /// Sets the value if the key is new; returns whether it was.
    @discardableResult
    mutating func insertIfAbsent(_ key: UInt64, _ value: Int32) -> Bool {
        guard key != 0 else { return false }
        let i = slot(key)
        if keys[i] == key { return false }
        keys[i] = key
        values[i] = value
        return true
    }

    /// The value of `key`, set to `value` first if the key is new (`key` is not 0).
    mutating func value(_ key: UInt64, orInsert value: Int32) -> Int32 {
        let i = slot(key)
        if keys[i] == key { return values[i] }
        keys[i] = key
        values[i] = value
        return value
    }

    mutating func increment(_ key: UInt64) {
        guard key != 0 else { return }
        let i = slot(key)
        if keys[i] == key { values[i] += 1 } else { keys[i] = key; values[i] = 1 }
    }
}

/// Strings kept compactly (one byte buffer), for examples and `--list`.
final class StringArena {
    var bytes: [UInt8] = []
    var starts: [UInt32] = []

    var count: Int { starts.count }

    func append(_ p: UnsafePointer<UInt8>, _ n: Int) {
        starts.append(UInt32(bytes.count))
        bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
    }

    func append(_ s: String) {
        starts.append(UInt32(bytes.count))
        bytes.append(contentsOf: s.utf8)
    }

    subscript(i: Int) -> String {
        let start = Int(starts[i])
        let end = i + 1 < starts.count ? Int(starts[i + 1]) : bytes.count
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
