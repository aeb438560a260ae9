import AuthDoctorCore
import AuthDoctorSources
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fake Convex deployment on 127.0.0.1 that answers the read API as the real backend does (better-auth-facts-2.md
/// §7, convex-export-and-http.md) from an export: `/version`; on `/api/query` the system queries `components:list`
/// (nested and unmounted components with `state`), `getTableMapping`, `getSchemas` (the Rust-serialised schema),
/// `tableSize`, `paginatedTableDocuments` (a missing table is an empty page; `index` filters with `indexEq`; plain
/// filters scan at most 10,000 rows per page and answer empty pages with `isDone:false` at that cap) and the env; on
/// `/api/function` the component's `adapter:findMany`/`findOne` (`lib:findMany` in Better Auth < 0.8 mode), whose
/// `.unique()` email lookup throws on duplicates. Function errors carry `[Request ID: …] Server Error` and
/// ` in '<component>'`, or only the prefix in redacted mode. It counts the documents each request reads, can
/// pretend a table holds a million more rows without materialising them, records every request and injects
/// faults (429/503/500, drops, resets, endless pagination, hostile answers). Like a real backend it serves its
/// connections concurrently (`LocalListener`); the log, the counts and the fault decisions are kept under one lock.
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
    /// Error messages are only `[Request ID: …] Server Error` (a deployment that redacts errors).
    var redactErrors = false
    /// Better Auth < 0.8: the component's functions are `lib:*`, there is no `adapter` module.
    var legacyBetterAuth = false
    /// Component paths whose `state` is `unmounted`.
    var unmounted: Set<String> = []
    /// Index name → fields per table per namespace ("" is the root); defaults to the app's `by_email`/`by_authId`
    /// and the component's indexes of Better Auth v0.12.5. A namespace mapped to nil has no schema.
    var schemas: [String: [String: [String: [String]]]?] = [:]
    /// Rows a table has beyond its real ones, generated on demand (`bulk<i>@bulk.example`, `bulkauth<i>`).
    var virtualRows: [String: Int] = [:]
    /// `paginatedTableDocuments` never ends: 1 repeats the cursor, 2 sends a fresh cursor with an empty page.
    var endlessPages = 0
    /// Documents read on the server by every request so far.
    var documentsRead: Int {
        lock.lock()
        defer { lock.unlock() }
        return documentsReadSoFar
    }
    private var documentsReadSoFar = 0
    /// Answer every authenticated request with this status and code (e.g. 403 BadDeployKey).
    var reject: (Int, String)?
    /// Serve the env only through `GET /api/v1/list_environment_variables`.
    var envOnlyOverV1 = false
    /// What `_system/frontend/convexSiteUrl` answers (the deployment's CONVEX_SITE_URL); nil: the query fails.
    var siteURL: String?
    private var rng = SeededRandom(state: 7)
    private var faultsPerRequest: [String: Int] = [:]
    private(set) var requests: [Request] = []
    private let lock = NSLock()
    private var listener: LocalListener?
    var port: Int { listener?.port ?? 0 }

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

    /// The demo export served with the Convex env of Examples/env/convex-prod.env, so both sources see one environment.
    static func demo(export: String = demoExport, key: String, _ configure: (FakeDeployment) -> Void) throws -> FakeDeployment {
        let f = try FakeDeployment(export: export, key: key)
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("Examples/env/convex-prod.env").path, encoding: .utf8)
        f.env = text.split(separator: "\n").compactMap { line in
            guard let eq = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<eq]), String(line[line.index(after: eq)...]))
        }
        configure(f)
        try f.start()
        return f
    }

    /// Serves until `stop()`. Settings are read without the lock: set them before `start()` or between runs.
    func start() throws {
        listener = try LocalListener { [self] conn in handle(conn) }
    }

    private func countRead(_ documents: Int) {
        lock.lock()
        documentsReadSoFar += documents
        lock.unlock()
    }

    func stop() {
        listener?.stop()
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
        var fault = faultRate > 0 && Double.random(in: 0..<1, using: &rng) < faultRate
        // A partial fault rate fails the same request (method, path, body) at most twice in all, so the client's
        // four tries always recover: which request meets a run of faults would otherwise depend on how parallel
        // lookups (some of them identical) interleave.
        let key = "\(method) \(path) " + String(decoding: buffer[headerEnd!...], as: UTF8.self)
        if faultRate < 1 {
            if fault && faultsPerRequest[key, default: 0] >= 2 { fault = false }
            if fault { faultsPerRequest[key, default: 0] += 1 }
        }
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

    // MARK: tables

    /// `path/table` → (namespace, table); the root namespace is "".
    static func split(_ key: String) -> (String, String) {
        guard let slash = key.lastIndex(of: "/") else { return ("", key) }
        return (String(key[..<slash]), String(key[key.index(after: slash)...]))
    }

    /// Every component path: the namespaces of the tables, their parents, and the unmounted ones.
    var componentPaths: [String] {
        var out = Set(unmounted)
        for key in tables.keys {
            let (ns, _) = FakeDeployment.split(key)
            var parts = ns.split(separator: "/").map(String.init)
            while !parts.isEmpty { out.insert(parts.joined(separator: "/")); parts.removeLast() }
        }
        return out.sorted()
    }

    static func id(of path: String) -> String { path.isEmpty ? "root-id" : "c-\(path)" }

    /// The namespace of a `componentId` argument; nil for an unknown id.
    func namespace(_ id: Value) -> String? {
        guard let s = id.stringValue, s != "root-id" else { return "" }
        guard s.hasPrefix("c-") else { return nil }
        let path = String(s.dropFirst(2))
        return componentPaths.contains(path) ? path : nil
    }

    func key(_ namespace: String, _ table: String) -> String { namespace.isEmpty ? table : "\(namespace)/\(table)" }

    func count(_ key: String) -> Int { (tables[key]?.count ?? 0) + (virtualRows[key] ?? 0) }

    /// Row `i` of a table: a real one, else a generated one.
    func row(_ key: String, _ i: Int) -> Row {
        let real = tables[key] ?? []
        if i < real.count { return real[i] }
        let v = i - real.count
        var r: Row = ["_id": .string("v\(v)x\(key.count)"), "_creationTime": .double(Double(v))]
        for field in ["email", "authId", "name"] { r[field] = FakeDeployment.virtualValue(field, v) }
        return r
    }

    static func virtualValue(_ field: String, _ i: Int) -> Value? {
        switch field {
        case "email": return .string("bulk\(i)@bulk.example")
        case "authId": return .string("bulkauth\(i)")
        case "name": return .string("Bulk")
        default: return nil
        }
    }

    /// The one generated row whose `field` equals `value`, if any.
    static func virtualMatch(_ field: String, _ value: Value, count: Int) -> Int? {
        guard let s = value.stringValue else { return nil }
        let (prefix, suffix) = field == "email" ? ("bulk", "@bulk.example") : field == "authId" ? ("bulkauth", "") : ("", "\u{0}")
        guard !prefix.isEmpty, s.hasPrefix(prefix), s.hasSuffix(suffix), let i = Int(s.dropFirst(prefix.count).dropLast(suffix.count)), i >= 0, i < count else { return nil }
        return i
    }

    /// Rows `from..<` of a table where every `(field, value)` holds, reading at most `maxRead` rows and keeping at
    /// most `limit`: (rows, next position, done, rows read). Generated rows are matched without being made.
    func matching(_ key: String, _ clauses: [(String, Value)], from: Int, limit: Int, maxRead: Int) -> ([Row], Int, Bool, Int) {
        let real = tables[key] ?? []
        let total = count(key)
        var out: [Row] = []
        var i = from
        var read = 0
        func holds(_ r: Row) -> Bool { clauses.allSatisfy { (r[$0.0] ?? .null) == $0.1 } }
        while i < total && read < maxRead && out.count < limit {
            if i < real.count {
                if holds(real[i]) { out.append(real[i]) }
                i += 1
                read += 1
                continue
            }
            // Generated rows: jump to the one that can match (or to the end of this page's read budget).
            let v = i - real.count, virtualCount = total - real.count
            let hit = clauses.first.flatMap { FakeDeployment.virtualMatch($0.0, $0.1, count: virtualCount) }
            let stop = maxRead - read >= total - i ? total : i + (maxRead - read)
            if let hit, hit >= v, real.count + hit < stop, holds(row(key, real.count + hit)) {
                read += real.count + hit + 1 - i
                out.append(row(key, real.count + hit))
                i = real.count + hit + 1
            } else {
                read += stop - i
                i = stop
            }
        }
        return (out, i, i >= total, read)
    }

    /// The indexes of a namespace's tables.
    func indexes(_ namespace: String) -> [String: [String: [String]]]? {
        if let explicit = schemas[namespace] { return explicit }
        if namespace.isEmpty { return ["users": ["by_email": ["email"], "by_authId": ["authId"]]] }
        guard tables.keys.contains(key(namespace, "user")) else { return [:] }
        return [
            "user": ["email_name": ["email", "name"], "name": ["name"], "userId": ["userId"], "username": ["username"], "phoneNumber": ["phoneNumber"]],
            "session": ["expiresAt": ["expiresAt"], "expiresAt_userId": ["expiresAt", "userId"], "token": ["token"], "userId": ["userId"]],
            "account": ["accountId": ["accountId"], "accountId_providerId": ["accountId", "providerId"], "providerId_userId": ["providerId", "userId"], "userId": ["userId"]],
            "verification": ["expiresAt": ["expiresAt"], "identifier": ["identifier"]],
            "jwks": [:],
        ]
    }

    // MARK: routes

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
        func fail(_ m: String, in component: String? = nil) -> (Int, Value) {
            let prefix = "[Request ID: 4f2a9c1e0b7d3a55] Server Error"
            let text = redactErrors ? prefix : "\(prefix)\nUncaught Error: \(m)\(component.map { " in '\($0)'" } ?? "")"
            return (200, .map(["status": .string("error"), "errorMessage": .string(text)]))
        }
        var udf = body["path"].stringValue ?? ""
        if udf.hasSuffix(":default") { udf = String(udf.dropLast(":default".count)) }
        var args = body["args"]
        if case .list(let l) = args, let first = l.first { args = first }
        let numItems = Int(args["paginationOpts"]["numItems"].number ?? 100)
        func done(_ rows: [Row], _ next: Int, _ isDone: Bool) -> Value {
            .map(["page": .list(rows.map { .map($0) }), "isDone": .bool(isDone), "continueCursor": .string(isDone ? "end" : String(next))])
        }
        let start = Int(args["paginationOpts"]["cursor"].stringValue ?? "0") ?? 0
        switch (method, path) {
        case ("POST", "/api/query"):
            switch udf {
            case "_system/frontend/components:list":
                var list: [Value] = [.map(["id": .string("root-id"), "name": .null, "path": .string(""), "args": .map([:]), "state": .string("active")])]
                for p in componentPaths {
                    list.append(.map(["id": .string(FakeDeployment.id(of: p)), "name": .string(String(p.split(separator: "/").last!)), "path": .string(p),
                                      "args": .map([:]), "state": .string(unmounted.contains(p) ? "unmounted" : "active")]))
                }
                return ok(.list(list))
            case "_system/frontend/getTableMapping":
                guard let ns = namespace(args["componentId"]) else { return fail("Invalid component id") }
                let names = tables.keys.filter { FakeDeployment.split($0).0 == ns }.map { FakeDeployment.split($0).1 }.sorted()
                return ok(.map(Dictionary(uniqueKeysWithValues: names.enumerated().map { ("\(10001 + $0.offset)", Value.string($0.element)) })))
            case "_system/frontend/getSchemas":
                guard let ns = namespace(args["componentId"]) else { return fail("Invalid component id") }
                guard let schema = indexes(ns) else { return ok(.map([:])) }
                let tables: [Value] = schema.keys.sorted().map { table in
                    .map(["tableName": .string(table), "documentType": .map(["type": .string("any")]),
                          "indexes": .list(schema[table]!.keys.sorted().map { .map(["indexDescriptor": .string($0), "fields": .list(schema[table]![$0]!.map { .string($0) })]) }),
                          "stagedDbIndexes": .list([]), "searchIndexes": .list([]), "stagedSearchIndexes": .list([]), "vectorIndexes": .list([]), "stagedVectorIndexes": .list([])])
                }
                return ok(.map(["active": .string(JSONWriter.write(.map(["tables": .list(tables), "schemaValidation": .bool(true)]), pretty: false))]))
            case "_system/frontend/tableSize":
                guard let ns = namespace(args["componentId"]) else { return fail("Invalid component id") }
                let table = args["tableName"].stringValue ?? ""
                return ok(.int(Int64(table.isEmpty ? 0 : count(key(ns, table)))))
            case "_system/frontend/paginatedTableDocuments":
                guard let ns = namespace(args["componentId"]) else { return fail("Invalid component id") }
                let name = key(ns, args["table"].stringValue ?? "")
                if endlessPages == 1 {
                    let rows = (0..<min(numItems, count(name))).map { row(name, $0) }
                    countRead(rows.count)
                    return ok(.map(["page": .list(rows.map { .map($0) }), "isDone": .bool(false), "continueCursor": .string("loop")]))
                }
                if endlessPages == 2 { return ok(.map(["page": .list([]), "isDone": .bool(false), "continueCursor": .string(String(start + 1))])) }
                // A table that does not exist is an empty page, as upstream.
                guard let encoded = args["filters"].stringValue else {
                    let (rows, next, isDone, read) = matching(name, [], from: start, limit: numItems, maxRead: numItems)
                    countRead(read)
                    return ok(done(rows, next, isDone))
                }
                guard supportsFilters else { return fail("ArgumentValidationError: Value does not match validator. Path: .filters") }
                let expression = (Data(base64Encoded: encoded).flatMap { try? JSONParser.parse($0) }) ?? .null
                if expression["index"] != .null {
                    let indexName = expression["index"]["name"].stringValue ?? ""
                    let (_, table) = FakeDeployment.split(name)
                    guard let fields = indexes(ns)?[table]?[indexName] ?? (indexName == "by_id" ? ["_id"] : nil) else {
                        return ok(.map(["page": .list([.map(["filter": .int(-1), "error": .string("Index \(indexName) does not exist.")])]),
                                        "isDone": .bool(true), "continueCursor": .string("end")]))
                    }
                    let clauses = (expression["index"]["clauses"].listValue ?? []).enumerated().compactMap { i, c -> (String, Value)? in
                        c["type"] == .string("indexEq") && i < fields.count ? (fields[i], c["value"]) : nil
                    }
                    // An index range reads only the rows it returns.
                    let (rows, next, isDone, _) = matching(name, clauses, from: start, limit: numItems, maxRead: Int.max)
                    countRead(rows.count)
                    return ok(done(rows, next, isDone))
                }
                let clauses = (expression["clauses"].listValue ?? []).filter { $0["op"] == .string("eq") }.map { ($0["field"].stringValue ?? "", $0["value"]) }
                if clauses.count == 1 && clauses[0].0 == "_id" {
                    let (rows, _, _, _) = matching(name, clauses, from: 0, limit: 1, maxRead: Int.max)
                    countRead(rows.count)
                    return ok(done(rows, 0, true))
                }
                // A `.filter()` scan: at most 10,000 rows read per page, so a page may be empty and not done.
                let (rows, next, isDone, read) = matching(name, clauses, from: start, limit: numItems, maxRead: 10_000)
                countRead(read)
                return ok(done(rows, next, isDone))
            case "_system/frontend/convexSiteUrl" where siteURL != nil:
                return ok(.string(siteURL ?? ""))
            case "_system/cli/queryEnvironmentVariables" where !envOnlyOverV1:
                return ok(.list(env.enumerated().map { .map(["_id": .string("e\($0.offset)"), "name": .string($0.element.0), "value": .string($0.element.1)]) }))
            default:
                return fail("Could not find public function for '\(udf)'.")
            }
        case ("POST", "/api/function"):
            let component = body["componentPath"].stringValue ?? ""
            guard componentPaths.contains(component), !unmounted.contains(component) else {
                return fail("Could not find function for '\(udf)'. Did you forget to run `npx convex dev`?")
            }
            let module = legacyBetterAuth ? "lib" : "adapter"
            guard udf == "\(module):findMany" || udf == "\(module):findOne" else {
                return fail("Could not find function for '\(udf)'. Did you forget to run `npx convex dev`?")
            }
            let model = args["model"].stringValue ?? ""
            let name = key(component, model)
            let clauses = (args["where"].listValue ?? []).map { ($0["field"].stringValue ?? "", $0["value"]) }
            let indexed = clauses.first.map { c in indexes(component)?[model]?.values.contains { $0.first == c.0 } ?? false } ?? false
            let (rows, next, isDone, read) = matching(name, clauses, from: start, limit: udf.hasSuffix("findOne") ? 1 : numItems, maxRead: Int.max)
            countRead(indexed ? rows.count : read)
            // Better Auth's unique fields are looked up with .unique().
            if clauses.first?.0 == "email" && rows.count > 1 {
                return fail("unique() query returned more than one result from table \(model): [\(rows.compactMap { $0["_id"]?.stringValue }.joined(separator: ", "))]", in: component)
            }
            return udf.hasSuffix("findOne") ? ok(rows.first.map { .map($0) } ?? .null) : ok(done(rows, next, isDone))
        default:
            return (404, .map(["code": .string("NotFound"), "message": .string("no route \(method) \(path)")]))
        }
    }
}
