import AuthDoctorCore
import Foundation

/// The live deployment as a data source for `diagnose` (DESIGN §8): Better Auth rows through the component's
/// indexed queries (`adapter:findMany` with `where` on email or userId: a constant number of requests per
/// email), app rows by scanning the app table with the dashboard's system query, the env through
/// `_system/cli/queryEnvironmentVariables`.
public final class DeploymentSource: DiagnoseDataSource, TableReader {
    public let client: DeploymentClient
    public let config: Config
    let isProd: Bool
    let deployment: String?
    let deep: Bool
    /// The component's `_components` id (for `componentId` arguments), found once at start.
    let componentId: Value
    var rows: [String: Int] = [:]
    /// Secret-looking strings seen in the answers, for the final redaction pass.
    public private(set) var seenSecrets = Set<String>()
    let progress: (String) -> Void

    public init(client: DeploymentClient, config: Config, key: String, prod: Bool = false, deep: Bool = false,
                progress: @escaping (String) -> Void = { _ in }) throws(SourceError) {
        self.client = client
        self.config = config
        self.deep = deep
        self.progress = progress
        isProd = prod || key.hasPrefix("prod:")
        // `prod:name|secret` and `name|secret` name the deployment; the URL's first label otherwise.
        if let bar = key.firstIndex(of: "|") {
            let head = key[..<bar]
            deployment = String(head.split(separator: ":").last ?? head)
        } else {
            deployment = client.base.host?.split(separator: ".").first.map(String.init)
        }
        _ = try client.version()
        let components = try client.systemQuery("_system/frontend/components:list", .map([:]))
        let found = components.listValue?.first { $0["path"].stringValue == config.component || $0["name"].stringValue == config.component }
        guard let found else {
            let names = components.listValue?.compactMap { $0["path"].stringValue }.filter { !$0.isEmpty } ?? []
            throw SourceError("\(client.base.absoluteString): no component '\(config.component)' on this deployment (components: \(names.isEmpty ? "none" : names.joined(separator: ", "))). Is Better Auth installed under another name? Try `component: NAME` in auth-doctor.yaml.")
        }
        componentId = found["id"]
    }

    func remember(_ rows: [Row]) {
        for row in rows {
            for (k, v) in row where SecretFields.isSecret(k) {
                if case .string(let s) = v { seenSecrets.insert(s) }
            }
        }
    }

    /// `adapter:findMany` on one model with `field == value`, all pages.
    func findMany(_ model: String, _ field: String, _ value: String) throws(SourceError) -> (rows: [Row], error: String?) {
        var out: [Row] = []
        var cursor: Value = .null
        while true {
            let args: Value = .map([
                "model": .string(model),
                "where": .list([.map(["field": .string(field), "operator": .string("eq"), "value": .string(value)])]),
                "paginationOpts": .map(["numItems": .int(200), "cursor": cursor]),
            ])
            switch try client.call(endpoint: "/api/function", path: "adapter:findMany", args: args, componentPath: config.component) {
            case .failure(let message):
                if message.contains("Could not find function") {
                    throw SourceError("\(client.base.absoluteString): the \(config.component) component has no adapter:findMany (a Local Install with other function names?).")
                }
                return (out, message)
            case .success(let result):
                out += (result["page"].listValue ?? []).compactMap(\.mapValue)
                if result["isDone"] != .bool(false) { remember(out); return (out, nil) }
                cursor = result["continueCursor"]
            }
        }
    }

    /// Every document of a table, through the dashboard's paginated system query.
    func scan(table: String, componentId: Value, what: String) throws(SourceError) -> [Row] {
        var out: [Row] = []
        var cursor: Value = .null
        while true {
            let page = try client.systemQuery("_system/frontend/paginatedTableDocuments", .map([
                "table": .string(table), "filters": .null, "componentId": componentId,
                "paginationOpts": .map(["numItems": .int(1000), "cursor": cursor]),
            ]))
            out += (page["page"].listValue ?? []).compactMap(\.mapValue)
            progress("scanning \(what): \(out.count) rows")
            if page["isDone"] != .bool(false) { break }
            cursor = page["continueCursor"]
        }
        rows[what] = out.count
        remember(out)
        return out
    }

    /// The email as typed plus its likely stored variants (Better Auth's lookup is exact).
    static func variants(_ normalized: String) -> [String] {
        let parts = normalized.split(separator: "@", maxSplits: 1).map(String.init)
        var out = [normalized]
        if parts.count == 2 {
            out.append(parts[0].prefix(1).uppercased() + parts[0].dropFirst() + "@" + parts[1])
            out.append(parts[0].prefix(1).uppercased() + parts[0].dropFirst() + "@" + parts[1].prefix(1).uppercased() + parts[1].dropFirst())
        }
        out.append(normalized.uppercased())
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    public func betterAuthUsers(normalizedEmail: String) throws -> [Row] {
        var users: [Row] = []
        var duplicates = false
        for v in DeploymentSource.variants(normalizedEmail) {
            let (found, error) = try findMany("user", "email", v)
            if let error {
                // `.unique()` threw: exact duplicates of this address.
                if error.contains("more than one result") { duplicates = true } else {
                    throw SourceError("\(client.base.absoluteString) adapter:findMany user: \(error)")
                }
            }
            users += found
        }
        if duplicates || (users.isEmpty && deep) {
            // Case/whitespace variants and duplicates need the whole table.
            users = try scan(table: "user", componentId: componentId, what: "\(config.component)/user")
                .filter { Email.matches($0["email"] ?? .null, normalizedEmail) }
        }
        var seen = Set<String>()
        return users.filter { seen.insert($0["_id"]?.stringValue ?? "").inserted }
    }

    /// App rows: a page of the table to see its fields, then `eq` filters of the dashboard's query (which uses an
    /// index of the app's schema when one starts with the field) for the email's variants, the link field with each
    /// Better Auth id, and legacy `_id`s. A backend that refuses filters, or a tokenIdentifier link, means a scan.
    public func appRows(normalizedEmail: String, ids: [String], appIds: [String]) throws -> (candidates: [Row], sample: [Row]) {
        let first = try client.systemQuery("_system/frontend/paginatedTableDocuments", .map([
            "table": .string(config.appTable), "filters": .null, "componentId": .null,
            "paginationOpts": .map(["numItems": .int(20), "cursor": .null]),
        ]))
        let sample = (first["page"].listValue ?? []).compactMap(\.mapValue)
        remember(sample)
        let link = PersonLookup.detectLinkField(config: config, appRows: sample, baUsers: [])
        if link == "tokenIdentifier" {
            let all = try scan(table: config.appTable, componentId: .null, what: config.appTable)
            return (all, sample)
        }
        var lookups: [(String, String)] = DeploymentSource.variants(normalizedEmail).map { (config.emailField, $0) }
        if Config.linkCandidates.contains(link) || !["email", Config.legacyLink].contains(link) {
            lookups += ids.map { (link, $0) }
        }
        lookups += appIds.map { ("_id", $0) }
        var rows: [Row] = []
        for (field, value) in lookups {
            guard let found = try filtered(table: config.appTable, field: field, value: value) else {
                // Filters refused (an older backend): read the table.
                let all = try scan(table: config.appTable, componentId: .null, what: config.appTable)
                return (all, sample)
            }
            rows += found
        }
        var seen = Set<String>()
        let unique = rows.filter { seen.insert($0["_id"]?.stringValue ?? "").inserted }
        remember(unique)
        return (unique, sample)
    }

    /// Rows of a root table where `field == value`, through the dashboard query's filters; nil when refused.
    func filtered(table: String, field: String, value: String) throws(SourceError) -> [Row]? {
        let expression = JSONWriter.write(.map(["clauses": .list([.map([
            "op": .string("eq"), "field": .string(field), "value": .string(value), "enabled": .bool(true),
        ])])]), pretty: false)
        let filters = Data(expression.utf8).base64EncodedString()
        var out: [Row] = []
        var cursor: Value = .null
        while true {
            let answer = try client.call(endpoint: "/api/query", path: "_system/frontend/paginatedTableDocuments", args: .map([
                "table": .string(table), "filters": .string(filters), "componentId": .null,
                "paginationOpts": .map(["numItems": .int(100), "cursor": cursor]),
            ]))
            guard case .success(let page) = answer else { return nil }
            // Filter errors come back as rows without an _id.
            let docs = (page["page"].listValue ?? []).compactMap(\.mapValue)
            if docs.contains(where: { $0["_id"] == nil }) { return nil }
            out += docs
            if page["isDone"] != .bool(false) { return out }
            cursor = page["continueCursor"]
        }
    }

    public func accountsAndSessions(userIds: [String]) throws -> (accounts: [Row], sessions: [Row]) {
        var accounts: [Row] = [], sessions: [Row] = []
        for id in userIds {
            let (a, e1) = try findMany("account", "userId", id)
            let (s, e2) = try findMany("session", "userId", id)
            if let e = e1 ?? e2 { throw SourceError("\(client.base.absoluteString) adapter:findMany: \(e)") }
            accounts += a
            sessions += s
        }
        return (accounts, sessions)
    }

    /// `audit --url`: a table's rows as JSONL, a page (1,000 rows) at a time.
    public func stream(_ path: String, _ consume: (Data) throws -> Void) throws(SourceError) {
        var table = String(path.dropLast("/documents.jsonl".count))
        var id: Value = .null
        let prefix = "_components/\(config.component)/"
        if table.hasPrefix(prefix) {
            table = String(table.dropFirst(prefix.count))
            id = componentId
        }
        var cursor: Value = .null
        var count = 0
        while true {
            let page = try client.systemQuery("_system/frontend/paginatedTableDocuments", .map([
                "table": .string(table), "filters": .null, "componentId": id,
                "paginationOpts": .map(["numItems": .int(1000), "cursor": cursor]),
            ]))
            let rows = page["page"].listValue ?? []
            count += rows.count
            progress("reading \(table): \(count) rows")
            var chunk = ""
            for row in rows { chunk += JSONWriter.write(row, pretty: false) + "\n" }
            do { try consume(Data(chunk.utf8)) } catch { throw SourceError("\(client.base.absoluteString): \(error)") }
            if page["isDone"] != .bool(false) { return }
            cursor = page["continueCursor"]
        }
    }

    public func size(of path: String) -> Int { 0 }

    /// The deployment's environment variables, as an env file for the env rules.
    public func environment() throws(SourceError) -> EnvFile {
        try DeploymentSource.environment(client)
    }

    /// The environment of any deployment (`check-env --url` needs no component).
    public static func environment(_ client: DeploymentClient) throws(SourceError) -> EnvFile {
        let where_ = "\(client.base.absoluteString) (env)"
        var entries: [EnvFile.Entry] = []
        switch try client.call(endpoint: "/api/query", path: "_system/cli/queryEnvironmentVariables", args: .map([:])) {
        case .success(let list):
            for (i, v) in (list.listValue ?? []).enumerated() {
                if let n = v["name"].stringValue, let value = v["value"].stringValue { entries.append(.init(name: n, value: value, line: i + 1)) }
            }
        case .failure:
            let (status, data) = try client.send("GET", "/api/v1/list_environment_variables", body: nil, label: "")
            guard status == 200, let map = (try? JSONParser.parse(data))?["environmentVariables"].mapValue else {
                throw client.failure(status, data, path: "/api/v1/list_environment_variables")
            }
            for (i, k) in map.keys.sorted().enumerated() {
                if let value = map[k]?.stringValue { entries.append(.init(name: k, value: value, line: i + 1)) }
            }
        }
        return EnvFile(path: where_, entries: entries, problems: [])
    }

    public var info: SourceInfo {
        SourceInfo(kind: "deployment", location: client.base.absoluteString, deployment: deployment, isProd: isProd, tableRows: rows)
    }
}
