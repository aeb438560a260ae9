import AuthDoctorCore
import AuthDoctorSources
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fake Convex deployment on 127.0.0.1 that answers the read API of the reference ("Minimal API subset")
/// from an export: `/version`, system queries on `/api/query`, the Better Auth component's `adapter:findMany` /
/// `findOne` on `/api/function`. It records every request and can inject 429/503/500 answers and dropped
/// connections.
final class FakeDeployment: @unchecked Sendable {
    struct Request {
        let method: String
        let path: String
        let udf: String?
        let componentPath: String?
        var bodyBytes = 0
    }

    let key: String
    var tables: [String: [Row]] = [:]
    var env: [(String, String)] = []
    /// The name the Better Auth component is mounted under; renaming moves its tables.
    var componentName = "betterAuth" {
        didSet {
            tables = Dictionary(uniqueKeysWithValues: tables.map { k, v in
                (k.hasPrefix("\(oldValue)/") ? componentName + k.dropFirst(oldValue.count) : k, v)
            })
        }
    }
    var versionStatus = 200
    /// Fraction of requests answered with `faultStatus` (dropped when 0, reset with a TCP RST when -1); seeded.
    var faultRate = 0.0
    var faultStatus = 503
    /// `Retry-After` sent with fault answers.
    var retryAfter: String?
    /// Takes over a connection after its request was read (hostile answers); true when it answered.
    var takeover: ((Int32, Request) -> Bool)?
    /// Seconds to wait before every answer.
    var delay = 0.0
    /// Older backends' dashboard query took no filters.
    var supportsFilters = true
    /// Answer every authenticated request with this status and code (e.g. 403 BadDeployKey).
    var reject: (Int, String)?
    /// Serve the env only through `GET /api/v1/list_environment_variables`.
    var envOnlyOverV1 = false
    private var rng = SeededRandom(state: 7)
    private(set) var requests: [Request] = []
    private let lock = NSLock()
    private var listener: Int32 = -1
    private(set) var port: Int = 0

    init(export: String, key: String) throws {
        self.key = key
        let archive = try ExportArchive(path: export)
        for path in archive.paths where path.hasSuffix("/documents.jsonl") {
            var data = Data()
            try archive.stream(path) { data.append($0) }
            let name = String(path.dropLast("/documents.jsonl".count)).replacingOccurrences(of: "_components/", with: "")
            tables[name] = data.split(separator: 0x0A).compactMap { try? JSONParser.parse(Data($0)).mapValue }
        }
    }

    func start() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 16) == 0 else { throw NSError(domain: "fake", code: 1) }
        var got = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &got) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        port = Int(UInt16(bigEndian: got.sin_port))
        let thread = Thread { [self] in
            while true {
                let conn = accept(listener, nil, nil)
                if conn < 0 { return }
                handle(conn)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    var url: String { "http://127.0.0.1:\(port)" }

    var log: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }

    private func handle(_ conn: Int32) {
        defer { close(conn) }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        while headerEnd == nil {
            let n = read(conn, &chunk, chunk.count)
            if n <= 0 { return }
            buffer += chunk[0..<n]
            // A TLS handshake (0x16) on this plain-HTTP port: hang up, as a real HTTP server would.
            if buffer.first == 0x16 { return }
            if let r = buffer.firstRange(of: Array("\r\n\r\n".utf8)) { headerEnd = r.upperBound }
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let first = lines[0].split(separator: " ")
        guard first.count >= 2 else { return }
        let method = String(first[0]), path = String(first[1])
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count - headerEnd! < length {
            let n = read(conn, &chunk, chunk.count)
            if n <= 0 { break }
            buffer += chunk[0..<n]
        }
        let body = (try? JSONParser.parse(Data(buffer[headerEnd!...]))) ?? .null
        lock.lock()
        let request = Request(method: method, path: path, udf: body["path"].stringValue, componentPath: body["componentPath"].stringValue,
                              bodyBytes: buffer.count - headerEnd!)
        requests.append(request)
        let fault = faultRate > 0 && Double.random(in: 0..<1, using: &rng) < faultRate
        lock.unlock()
        if fault {
            if faultStatus == 0 { return } // drop the connection
            if faultStatus == -1 { return FakeDeployment.reset(conn) }
            return respond(conn, faultStatus, .map(["code": .string("Overloaded"), "message": .string("try again")]),
                           extra: retryAfter.map { "Retry-After: \($0)\r\n" } ?? "")
        }
        if let takeover, takeover(conn, request) { return }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        let (status, answer) = route(method, path, headers["authorization"] ?? "", body)
        respond(conn, status, answer)
    }

    private func respond(_ conn: Int32, _ status: Int, _ value: Value, extra: String = "") {
        let text: String
        if case .string(let s) = value { text = s } else { text = JSONWriter.write(value, pretty: false) }
        let payload = Array(text.utf8)
        let head = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\n\(extra)Connection: close\r\n\r\n"
        FakeDeployment.send(conn, Array(head.utf8) + payload)
    }

    /// Writes all bytes; false once the peer is gone (no SIGPIPE).
    @discardableResult
    static func send(_ conn: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(conn, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Closes with a TCP RST instead of a FIN.
    static func reset(_ conn: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(conn, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    /// `AdminKey::remove_type_prefix`: `prod:name|secret` → `name|secret`.
    static func normalize(_ key: String) -> String {
        guard let bar = key.firstIndex(of: "|"), let colon = key[..<bar].firstIndex(of: ":") else { return key }
        let type = key[..<colon]
        return type == "preview" || type == "project" ? String(key[key.index(after: bar)...]) : String(key[key.index(after: colon)...])
    }

    private func route(_ method: String, _ path: String, _ auth: String, _ body: Value) -> (Int, Value) {
        if path == "/version" { return (versionStatus, versionStatus == 200 ? .string("1.29.0") : .map(["code": .string("NotFound")])) }
        if auth.hasPrefix("Bearer ") { return (403, .map(["code": .string("SystemIdentityRequired"), "message": .string("Operation query not permitted")])) }
        guard auth.lowercased().hasPrefix("convex "), FakeDeployment.normalize(String(auth.dropFirst(7))) == FakeDeployment.normalize(key) else {
            return (401, .map(["code": .string("BadAdminKey"), "message": .string("The provided admin key was invalid for this instance")]))
        }
        if let (status, code) = reject { return (status, .map(["code": .string(code), "message": .string("rejected")])) }
        if method == "GET" && path == "/api/v1/list_environment_variables" {
            return (200, .map(["environmentVariables": .map(Dictionary(uniqueKeysWithValues: env.map { ($0.0, Value.string($0.1)) }))]))
        }
        func ok(_ v: Value) -> (Int, Value) { (200, .map(["status": .string("success"), "value": v])) }
        func fail(_ m: String) -> (Int, Value) { (200, .map(["status": .string("error"), "errorMessage": .string(m)])) }
        var udf = body["path"].stringValue ?? ""
        if udf.hasSuffix(":default") { udf = String(udf.dropLast(":default".count)) }
        var args = body["args"]
        if case .list(let l) = args, let first = l.first { args = first }
        func page(_ rows: [Row]) -> Value {
            let n = Int(args["paginationOpts"]["numItems"].number ?? 100)
            let start = Int(args["paginationOpts"]["cursor"].stringValue ?? "0") ?? 0
            let slice = Array(rows.dropFirst(start).prefix(n))
            let end = start + slice.count
            return .map(["page": .list(slice.map { .map($0) }), "isDone": .bool(end >= rows.count),
                         "continueCursor": .string(end >= rows.count ? "end" : String(end))])
        }
        switch (method, path) {
        case ("POST", "/api/query"):
            switch udf {
            case "_system/frontend/components:list":
                var list: [Value] = [.map(["id": .string("root-id"), "name": .null, "path": .string(""), "args": .map([:]), "state": .string("active")])]
                if tables.keys.contains(where: { $0.hasPrefix("\(componentName)/") }) {
                    list.append(.map(["id": .string("ba-id"), "name": .string(componentName), "path": .string(componentName), "args": .map([:]), "state": .string("active")]))
                }
                return ok(.list(list))
            case "_system/frontend/paginatedTableDocuments":
                let table = args["table"].stringValue ?? ""
                let name = args["componentId"].stringValue == "ba-id" ? "\(componentName)/\(table)" : table
                var rows = tables[name] ?? []
                if let encoded = args["filters"].stringValue {
                    guard supportsFilters else { return fail("ArgumentValidationError: Value does not match validator. Path: .filters") }
                    let expression = (Data(base64Encoded: encoded).flatMap { try? JSONParser.parse($0) }) ?? .null
                    for clause in expression["clauses"].listValue ?? [] where clause["op"] == .string("eq") {
                        let field = clause["field"].stringValue ?? ""
                        rows = rows.filter { ($0[field] ?? .null) == clause["value"] }
                    }
                }
                return ok(page(rows))
            case "_system/cli/queryEnvironmentVariables" where !envOnlyOverV1:
                return ok(.list(env.enumerated().map { .map(["_id": .string("e\($0.offset)"), "name": .string($0.element.0), "value": .string($0.element.1)]) }))
            default:
                return fail("Could not find public function for '\(udf)'.")
            }
        case ("POST", "/api/function"):
            guard let component = body["componentPath"].stringValue, tables.keys.contains(where: { $0.hasPrefix("\(component)/") }) else {
                return fail("Could not find function for '\(udf)'. Did you forget to run `npx convex dev`?")
            }
            guard udf == "adapter:findMany" || udf == "adapter:findOne" else {
                return fail("Could not find function for '\(udf)'.")
            }
            var rows = tables["\(component)/\(args["model"].stringValue ?? "")"] ?? []
            for w in args["where"].listValue ?? [] {
                let field = w["field"].stringValue ?? "", value = w["value"]
                rows = rows.filter { ($0[field] ?? .null) == value }
                // Better Auth's unique fields are looked up with .unique().
                if field == "email" && rows.count > 1 {
                    return fail("Uncaught Error: unique() query returned more than one result from table user: [...]")
                }
            }
            return udf == "adapter:findOne" ? ok(rows.first.map { .map($0) } ?? .null) : ok(page(rows))
        default:
            return (404, .map(["code": .string("NotFound"), "message": .string("no route \(method) \(path)")]))
        }
    }
}
