@testable import AuthDoctorCore
@testable import AuthDoctorSources
import Foundation
import Testing

private let userLine = #"{"_creationTime":1763900000000.5,"_id":"u_ada","createdAt":1763900000000.0,"email":"ada@example.com","emailVerified":true,"name":"Ada","updatedAt":1763900000000.0}"#
private let otherLine = #"{"_creationTime":1763900000001.5,"_id":"u_bob","createdAt":1763900000000.0,"email":"bob@example.com","emailVerified":true,"name":"Bob","updatedAt":1763900000000.0}"#

/// Runs the scanner over `text`, fed in chunks of `chunk` bytes.
private func scan(_ text: String, needles: [Needle], chunk: Int, sample: Int = 0) -> (rows: [Value], scanner: LineScanner) {
    var rows: [Value] = []
    let s = LineScanner(path: "t", needles: needles, sampleLines: sample) { rows.append($0) }
    let bytes = Array(text.utf8)
    var i = 0
    while i < bytes.count {
        let end = min(i + chunk, bytes.count)
        bytes[i..<end].withUnsafeBytes { s.feed($0) }
        i = end
    }
    s.finish()
    return (rows, s)
}

@Suite struct ExportReading {
    @Test func scannerFindsTheSameRowsWhateverTheChunkSize() {
        let text = (0..<50).map { i in i == 37 ? userLine.replacingOccurrences(of: "ada@example.com", with: "ADA@Example.COM") : otherLine.replacingOccurrences(of: "u_bob", with: "u_\(i)") }
            .joined(separator: "\n") + "\n"
        for chunk in [1, 2, 7, 64, 1000, 1 << 20] {
            let (rows, s) = scan(text, needles: [.email("ada@example.com")], chunk: chunk)
            #expect(rows.count == 1, "chunk \(chunk)")
            #expect(rows.first?["_id"] == .string("u_ada"))
            #expect(s.lines == 50)
            #expect(s.malformed == 0)
        }
        let (byId, _) = scan(text, needles: [.exact("u_12"), .exact("u_3")], chunk: 13)
        // u_12 and u_3 match exactly; u_30..u_39 contain "u_3" too and are candidates the caller filters.
        #expect(byId.count == 11)
    }

    @Test func malformedLinesAreCountedNotFatal() {
        let text = [userLine, "{\"_id\":\"u_x\",\"email\":\"ada@example.com\"", otherLine, "not json ada@example.com", ""].joined(separator: "\n")
        let (rows, s) = scan(text, needles: [.email("ada@example.com")], chunk: 5)
        #expect(rows.count == 1)
        #expect(s.malformed == 2)
        #expect(s.malformedAt == [2, 4])
        #expect(s.lines == 4)
    }

    @Test func aTruncatedLastLineIsNoticedEvenWithoutANeedle() {
        let text = userLine + "\n" + String(otherLine.prefix(40))
        let (_, s) = scan(text, needles: [.email("ada@example.com")], chunk: 16)
        #expect(s.lines == 2)
        #expect(s.malformed == 1)
    }

    @Test func aTwentyMegabyteLineIsSkippedNotParsed() {
        let big = "{\"_id\":\"u_big\",\"email\":\"ada@example.com\",\"blob\":\"" + String(repeating: "x", count: 20 << 20) + "\"}"
        let text = otherLine + "\n" + big + "\n" + userLine + "\n"
        let (rows, s) = scan(text, needles: [.email("ada@example.com")], chunk: 1 << 20)
        // A line past the limit is not a Convex document (at most 1 MiB): skipped and counted as malformed.
        #expect(rows.count == 1)
        #expect(s.lines == 3)
        #expect(s.malformedAt == [2])
    }

    @Test func newlineCountingIsExact() {
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 1000] {
            let bytes = Array(repeating: UInt8(ascii: "a"), count: n) + [0x0A] + Array(repeating: 0x0B, count: n) + [0x0A, 0x8A, 0x0A]
            let expected = bytes.filter { $0 == 0x0A }.count
            #expect(bytes.withUnsafeBytes { LineScanner.countNewlines($0) } == expected)
        }
    }

    @Test func uniformValuesDecode() {
        let d = ValueDecoder(format: .uniform)
        let v = d.decode(.map(["b": .map(["$bytes": .string("q80=")]), "f": .map(["$float": .string("AAAAAAAA+H8=")]),
                               "i": .int(3), "x": .double(3)]))
        #expect(v["b"] == .bytes([0xAB, 0xCD]))
        if case .double(let nan) = v["f"] { #expect(nan.isNaN) } else { Issue.record("$float must decode to a double") }
        #expect(v["i"] == .int(3))
    }

    @Test func legacyInt64StringsDecodeFromTheShape() {
        let shape = #"{"_creationTime": normalfloat64, "_id": id<10001>, "loginCount": int64, "avatar"?: bytes, "nested": {"deep": int64}}"#
        let (ints, bytes) = ValueDecoder.legacyFields(shape: shape)
        #expect(ints == ["loginCount"])
        #expect(bytes == ["avatar"])
        let d = ValueDecoder(format: .legacy, int64Fields: ints, bytesFields: bytes)
        let v = d.decode(.map(["loginCount": .string("42"), "avatar": .string("q80="), "name": .string("42")]))
        #expect(v["loginCount"] == .int(42))
        #expect(v["avatar"] == .bytes([0xAB, 0xCD]))
        #expect(v["name"] == .string("42"))
    }

    @Test func zipAndFolderGiveTheSameReport() throws {
        let dir = try tempDir("unzip")
        defer { try? FileManager.default.removeItem(at: dir) }
        try unzipExport(demoExport, to: dir)
        let fromZip = try runCLI(["diagnose", "admin@example.com", "--export", demoExport, "--format", "json"])
        let fromDir = try runCLI(["diagnose", "admin@example.com", "--export", dir.path, "--format", "json"])
        #expect(fromZip.exitCode == 1 && fromDir.exitCode == 1)
        #expect(fromZip.stdout.replacingOccurrences(of: demoExport, with: "X") == fromDir.stdout.replacingOccurrences(of: dir.path, with: "X"))
    }

    @Test func legacyExportIsRecognised() throws {
        let dir = try tempDir("legacy")
        defer { try? FileManager.default.removeItem(at: dir) }
        let shape = #""{\"_creationTime\": normalfloat64, \"_id\": id<10004>, \"email\": string}""#
        try writeExport([
            "_components/betterAuth/user": userLine + "\n", "_components/betterAuth/account": "",
            "_components/betterAuth/session": "", "users": #"{"_id":"a1","authId":"u_ada","email":"ada@example.com","visits":"12"}"# + "\n",
        ], in: dir, schema: shape)
        let r = try runCLI(["diagnose", "ada@example.com", "--export", dir.path, "--format", "json", "--method", "password"])
        #expect(r.stdout.contains(#""exportFormat": "legacy""#))
        #expect(r.exitCode == 1) // no credential account
        let v = try JSONParser.parse(r.stdout)
        #expect(v["verdict"]["rule"] == .string("ba.account.credential"), "the verdict, not just any result row")
        #expect(v["results"].listValue?.first { $0["rule"] == .string("app.user.exists") }?["status"] == .string("pass"),
                "the legacy app row (with an int64-looking string field) was read")
    }

    @Test func theDeploymentComesFromTheSnapshotFileName() {
        #expect(ExportSource.deploymentName(from: "/tmp/snapshot_happy-animal-123_1745162191687000000.zip") == "happy-animal-123")
        #expect(ExportSource.deploymentName(from: "backup.zip") == nil)
    }
}
