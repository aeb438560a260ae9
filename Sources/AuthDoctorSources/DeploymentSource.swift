import AuthDoctorCore
import Foundation

/// The live deployment as a data source for `diagnose` and `audit` (DESIGN §8, §13.7), read-only.
///
/// At start it finds the component by its path (`components:list`), checks that the tables it will read exist
/// (`getTableMapping`: upstream reads a missing table as an empty page) and reads both schemas' indexes
/// (`getSchemas`). Better Auth rows come from the component's `adapter:findMany` (index-backed `where eq`); any
/// error answer to it (a missing function on Better Auth < 0.8, a `.unique()` over duplicates, a redacted
/// `Server Error`) falls back to the system query, through an index when the component's schema has one, else
/// by reading the table: error text is never read for meaning. App rows are looked up with `indexEq` filters
/// when an index starts with the field; a plain filter (a server-side scan) or a full read only without one, and
/// the report says so. Every paginated read stops with exit 2 on a repeated cursor or more pages than the
/// table's size explains.
public final class DeploymentSource: DiagnoseDataSource, TableReader {
    public let client: DeploymentClient
    public let config: Config
    let isProd: Bool
    let deployment: String?
    let deep: Bool
    /// The emails of the user table, when a lookup had to read it whole.
    var scannedEmails: [String]?
    /// The email as typed on the command line, for the first probe.
    let typedEmail: String?
    /// The component's `_components` id (for `componentId` arguments) and path (for `componentPath`).
    let componentId: Value
    let componentPath: String
    /// Index name → fields, per table, of the root and of the component (empty when the schema is unknown).
    let rootIndexes: [String: [(name: String, fields: [String])]]
    let componentIndexes: [String: [(name: String, fields: [String])]]
    /// The tables of the component and of the app's namespace.
    let componentTables: Set<String>
    let rootTables: Set<String>
    var rows: [String: Int] = [:]
    var notes: [String] = []
    /// After one error answer from the component's adapter, lookups go through the system query.
    var adapterFailed = false
    var tables: [String: [Row]] = [:]
    let lock = NSLock()
    /// Secret-looking strings seen in the answers, for the final redaction pass.
    public private(set) var seenSecrets = Set<String>()
    let progress: (String) -> Void
    /// Without asking, a user table up to this size is read when no spelling of the email matches.
    public static let autoScanRows = 20_000

    public init(client: DeploymentClient, config: Config, key: String, prod: Bool = false, deep: Bool = false, email: String? = nil,
                progress: @escaping (String) -> Void = { _ in }) throws(SourceError) {
        self.client = client
        self.config = config
        self.deep = deep
        self.progress = progress
        typedEmail = email
        // The key is a secret of this source like the hashes it reads: masked wherever data lands.
        seenSecrets.insert(key)
        isProd = prod || key.hasPrefix("prod:")
        // `prod:name|secret` and `name|secret` name the deployment; the URL's first label otherwise.
        if let bar = key.firstIndex(of: "|") {
            let head = key[..<bar]
            deployment = String(head.split(separator: ":").last ?? head)
        } else {
            deployment = client.base.host?.split(separator: ".").first.map(String.init)
        }
        let base = client.baseString
        _ = try client.version()
        let components = try client.systemQuery("_system/frontend/components:list", .map([:])).listValue ?? []
        // By path (`a/b` for a nested component); a top-level component also by its name.
        let matches = components.filter {
            $0["path"].stringValue == config.component || (!config.component.contains("/") && $0["name"].stringValue == config.component && $0["path"].stringValue?.contains("/") != true)
        }
        guard let found = matches.first(where: { $0["state"].stringValue != "unmounted" }) ?? matches.first else {
            let names = components.compactMap { c -> String? in
                guard let p = c["path"].stringValue, !p.isEmpty else { return nil }
                return c["state"].stringValue == "unmounted" ? "\(p) (unmounted)" : p
            }
            throw client.failed("\(base): no component '\(config.component)' on this deployment (components: \(names.isEmpty ? "none" : names.joined(separator: ", "))). Is Better Auth installed under another name? Try `component: NAME` in auth-doctor.yaml (a nested component is `parent/child`).")
        }
        if found["state"].stringValue == "unmounted" {
            throw client.failed("\(base): the component '\(config.component)' is unmounted on this deployment (its data is kept, but no app.use() mounts it). Mount it again, or set `component:` in auth-doctor.yaml to the mounted Better Auth component.")
        }
        componentId = found["id"]
        componentPath = found["path"].stringValue ?? config.component
        // Upstream reads a table that does not exist as an empty page: check the names first, as an export does.
        let componentTables = try DeploymentSource.tableNames(client, componentId)
        for model in ["user", "account", "session"] where !componentTables.contains(config.table(model)) {
            throw client.failed("\(base): the \(config.component) component has no \(config.table(model)) table (tables: \(componentTables.sorted().joined(separator: ", "))). Is `component: \(config.component)` in auth-doctor.yaml the Better Auth component? \(config.tableHint(model).prefix(1).uppercased() + config.tableHint(model).dropFirst()).")
        }
        self.componentTables = componentTables
        let rootTables = try DeploymentSource.tableNames(client, .null)
        self.rootTables = rootTables
        guard rootTables.contains(config.appTable) else {
            let roots = rootTables.filter { !$0.hasPrefix("_") }.sorted()
            throw client.failed("\(base): no app table '\(config.appTable)' on this deployment (root tables: \(roots.isEmpty ? "none" : roots.joined(separator: ", "))). Set `appTable: NAME` in auth-doctor.yaml (--config).")
        }
        rootIndexes = try DeploymentSource.indexes(client, .null)
        componentIndexes = try DeploymentSource.indexes(client, componentId)
    }

    /// The tables of a namespace (`getTableMapping`: `{"<number>": "<name>"}`).
    static func tableNames(_ client: DeploymentClient, _ componentId: Value) throws(SourceError) -> Set<String> {
        let mapping = try client.systemQuery("_system/frontend/getTableMapping", .map(["componentId": componentId]))
        return Set((mapping.mapValue ?? [:]).values.compactMap(\.stringValue))
    }

    /// The active schema's indexes of a namespace; none when the deployment has no schema or cannot say.
    static func indexes(_ client: DeploymentClient, _ componentId: Value) throws(SourceError) -> [String: [(name: String, fields: [String])]] {
        guard case .success(let schemas) = try client.call(endpoint: "/api/query", path: "_system/frontend/getSchemas", args: .map(["componentId": componentId])),
              let text = schemas["active"].stringValue, let schema = try? JSONParser.parse(Data(text.utf8)) else { return [:] }
        var out: [String: [(name: String, fields: [String])]] = [:]
        for table in schema["tables"].listValue ?? [] {
            guard let name = table["tableName"].stringValue else { continue }
            out[name] = (table["indexes"].listValue ?? []).compactMap { index in
                guard let n = index["indexDescriptor"].stringValue, let fields = index["fields"].listValue?.compactMap(\.stringValue) else { return nil }
                return (n, fields)
            }
        }
        return out
    }

    func remember(_ rows: [Row]) {
        lock.lock()
        defer { lock.unlock() }
        for row in rows {
            for (k, v) in row where SecretFields.isSecret(k) {
                if case .string(let s) = v { seenSecrets.insert(s) }
            }
        }
    }

    func note(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        if !notes.contains(text) { notes.append(text) }
    }

    // MARK: Paginated reads

    /// Every page of a paginated query, each handed to `each`. A cursor seen before, or more than `maxPages` pages,
    /// ends the read with exit 2 (a deployment or proxy that never says `isDone`). `fetch` answers nil when the
    /// query was refused; then so does this.
    func paginate(_ what: String, maxPages: Int, _ fetch: (Value) throws(SourceError) -> Value?,
                  each: ([Value]) throws(SourceError) -> Bool) throws(SourceError) -> Bool {
        var cursor: Value = .null
        var seen = Set<String>()
        var count = 0
        while true {
            guard let page = try fetch(cursor), try each(page["page"].listValue ?? []) else { return false }
            count += 1
            if page["isDone"] != .bool(false) { return true }
            let next = page["continueCursor"]
            guard next != .null, seen.insert(JSONWriter.write(next, pretty: false)).inserted else {
                throw client.failed("\(client.baseString): reading \(what), the deployment sent the same page cursor twice: its pagination does not end. Stopped after \(count) pages; try again later.")
            }
            if count >= maxPages {
                throw client.failed("\(client.baseString): reading \(what) took more than \(maxPages) pages, more than the table's size explains: the pagination does not end. Stopped; try again later.")
            }
            cursor = next
        }
    }

    /// Every row of a paginated query; nil when refused.
    func pages(_ what: String, maxPages: Int, _ fetch: (Value) throws(SourceError) -> Value?) throws(SourceError) -> [Row]? {
        var out: [Row] = []
        let complete = try paginate(what, maxPages: maxPages, fetch) { page in
            let docs = page.compactMap(\.mapValue)
            // A refused filter comes back as rows without an _id (`{"filter":-1,"error":…}`).
            if docs.contains(where: { $0["_id"] == nil }) { return false }
            out += docs
            return true
        }
        guard complete else { return nil }
        remember(out)
        return out
    }

    /// The most pages a read of a table of `size` rows may take: full pages, pages cut short by the server's
    /// 10,000-rows-read limit on a filter, and room for rows written meanwhile.
    static func pageLimit(size: Int, numItems: Int) -> Int {
        10 + 2 * ((size + numItems - 1) / numItems) + 2 * ((size + 9_999) / 10_000)
    }

    /// `_system/frontend/paginatedTableDocuments`; nil when the query failed.
    func tableQuery(_ table: String, _ componentId: Value, filters: Value, numItems: Int, cursor: Value) throws(SourceError) -> Value? {
        let answer = try client.call(endpoint: "/api/query", path: "_system/frontend/paginatedTableDocuments", args: .map([
            "table": .string(table), "filters": filters, "componentId": componentId,
            "paginationOpts": .map(["numItems": .int(Int64(numItems)), "cursor": cursor]),
        ]))
        guard case .success(let page) = answer else { return nil }
        return page
    }

    /// `_system/frontend/tableSize`; nil when the deployment cannot say.
    func tableSize(_ table: String, _ componentId: Value) throws(SourceError) -> Int? {
        // Older backends' tableSize takes no componentId: the root's is left out.
        var args: [String: Value] = ["tableName": .string(table)]
        if componentId != .null { args["componentId"] = componentId }
        guard case .success(let v) = try client.call(endpoint: "/api/query", path: "_system/frontend/tableSize", args: .map(args)) else { return nil }
        return v.number.map { Int($0) } ?? v.stringValue.flatMap { Int($0) }
    }

    /// Every document of a table (once per run), through the dashboard's system query.
    func scan(table: String, componentId: Value, what: String) throws(SourceError) -> [Row] {
        lock.lock()
        let cached = tables[what]
        lock.unlock()
        if let cached { return cached }
        let size = try tableSize(table, componentId) ?? 1_000_000
        var seen = 0
        let out = try pages(what, maxPages: DeploymentSource.pageLimit(size: size, numItems: 1000)) { cursor throws(SourceError) in
            let page = try tableQuery(table, componentId, filters: .null, numItems: 1000, cursor: cursor)
            seen += page?["page"].listValue?.count ?? 0
            progress("scanning \(what): \(seen) rows")
            return page
        }
        guard let out else { throw client.failed("\(client.baseString): cannot read \(what) through the system query.") }
        lock.lock()
        rows[what] = out.count
        tables[what] = out
        lock.unlock()
        return out
    }

    /// base64 of a `FilterExpression`.
    static func encode(_ expression: Value) -> Value {
        .string(Data(JSONWriter.write(expression, pretty: false).utf8).base64EncodedString())
    }

    /// The first index of `table` whose first field is `field`.
    static func index(_ indexes: [String: [(name: String, fields: [String])]], _ table: String, _ field: String) -> String? {
        indexes[table]?.first { $0.fields.first == field }?.name
    }

    /// Rows of a table where `field == value` through an `indexEq` filter; nil when refused.
    func indexed(_ table: String, _ componentId: Value, index: String, value: String, what: String) throws(SourceError) -> [Row]? {
        let filters = DeploymentSource.encode(.map(["clauses": .list([]), "index": .map([
            "name": .string(index), "clauses": .list([.map(["type": .string("indexEq"), "enabled": .bool(true), "value": .string(value)])]),
        ])]))
        return try pages(what, maxPages: 100) { cursor throws(SourceError) in
            try tableQuery(table, componentId, filters: filters, numItems: 100, cursor: cursor)
        }
    }

    /// Rows of a table where `field == value` through a plain filter: the server scans the table. Nil when refused.
    func filtered(_ table: String, _ componentId: Value, field: String, value: String, what: String) throws(SourceError) -> [Row]? {
        let filters = DeploymentSource.encode(.map(["clauses": .list([.map([
            "op": .string("eq"), "field": .string(field), "value": .string(value), "enabled": .bool(true),
        ])])]))
        // A single `_id` clause is a direct get; any other field is a scan whose length the table's size bounds.
        let size = field == "_id" ? 0 : try tableSize(table, componentId) ?? 1_000_000
        return try pages(what, maxPages: DeploymentSource.pageLimit(size: size, numItems: 100)) { cursor throws(SourceError) in
            try tableQuery(table, componentId, filters: filters, numItems: 100, cursor: cursor)
        }
    }

    // MARK: Better Auth rows

    /// Component rows where `field == value`: the component's adapter, else the system query (an index, else the table).
    /// `model` is Better Auth's name (`tables:` and `fields:` rename it and its fields); rows come back with Better
    /// Auth's field names.
    func lookup(_ model: String, _ field: String, _ value: String) throws(SourceError) -> [Row] {
        let table = config.table(model), stored = config.storedField(model, field)
        let what = config.tableLabel(model)
        if !adapterFailed, let rows = try adapterFindMany(table, stored, value) { return rows.map { config.canonical($0, model: model) } }
        if let index = DeploymentSource.index(componentIndexes, table, stored),
           let rows = try indexed(table, componentId, index: index, value: value, what: what) {
            return rows.map { config.canonical($0, model: model) }
        }
        return try scan(table: table, componentId: componentId, what: what).filter { ($0[stored] ?? .null) == .string(value) }
            .map { config.canonical($0, model: model) }
    }

    /// `adapter:findMany` with `field == value`, all pages; nil after an error answer.
    func adapterFindMany(_ model: String, _ field: String, _ value: String) throws(SourceError) -> [Row]? {
        let rows = try pages("\(config.component)/\(model) (adapter:findMany)", maxPages: 100) { cursor throws(SourceError) in
            let args: Value = .map([
                "model": .string(model),
                "where": .list([.map(["field": .string(field), "operator": .string("eq"), "value": .string(value)])]),
                "paginationOpts": .map(["numItems": .int(200), "cursor": cursor]),
            ])
            guard case .success(let page) = try client.call(endpoint: "/api/function", path: "adapter:findMany", args: args, componentPath: componentPath) else {
                return nil
            }
            return page
        }
        if rows == nil {
            lock.lock()
            adapterFailed = true
            lock.unlock()
        }
        return rows
    }

    /// The email as typed, normalized, and its likely stored variants (Better Auth's lookup is exact).
    static func variants(typed: String?, _ normalized: String) -> [String] {
        var out: [String] = []
        if let typed = typed?.trimmingCharacters(in: .whitespacesAndNewlines), !typed.isEmpty {
            out.append(typed)
            if let at = typed.lastIndex(of: "@") { out.append(typed[..<at] + typed[at...].lowercased()) }
        }
        out.append(normalized)
        let parts = normalized.split(separator: "@", maxSplits: 1).map(String.init)
        if parts.count == 2 {
            out.append(parts[0].prefix(1).uppercased() + parts[0].dropFirst() + "@" + parts[1])
            out.append(parts[0].prefix(1).uppercased() + parts[0].dropFirst() + "@" + parts[1].prefix(1).uppercased() + parts[1].dropFirst())
        }
        out.append(normalized.uppercased())
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    public func betterAuthUsers(normalizedEmail: String) throws -> [Row] {
        let probes = DeploymentSource.variants(typed: typedEmail, normalizedEmail)
        var users: [Row] = []
        for v in probes { users += try lookup("user", "email", v) }
        let what = config.tableLabel("user")
        if deep || !users.contains(where: { Email.matches($0["email"] ?? .null, normalizedEmail) }) {
            // Case and whitespace variants need the whole table: read it when it is small or when asked to.
            let size = try tableSize(config.table("user"), componentId)
            if deep || (size ?? Int.max) <= DeploymentSource.autoScanRows {
                let all = try scan(table: config.table("user"), componentId: componentId, what: what).map { config.canonical($0, model: "user") }
                // "Did you mean" uses what was read anyway (DESIGN §13.9).
                scannedEmails = all.compactMap { $0["email"]?.stringValue }
                users += all.filter { Email.matches($0["email"] ?? .null, normalizedEmail) }
            } else if let size {
                note("no user matched \(probes.count) spellings of the email; \(what) has \(size) rows, more than the \(DeploymentSource.autoScanRows) read without asking: --deep reads them all to find case or whitespace variants.")
            }
        }
        var seen = Set<String>()
        return users.filter { seen.insert($0["_id"]?.stringValue ?? "").inserted }
    }

    /// Nearest stored emails, from the user table when it was read (small, or --deep); none otherwise.
    public func emailSuggestions(for normalizedEmail: String) throws -> [String] {
        guard let scannedEmails else { return [] }
        return EmailInput.didYouMean(normalizedEmail, among: scannedEmails)
    }

    public func accountsAndSessions(userIds: [String]) throws -> (accounts: [Row], sessions: [Row]) {
        var accounts: [Row] = [], sessions: [Row] = []
        for id in userIds {
            accounts += try lookup("account", "userId", id)
            sessions += try lookup("session", "userId", id)
        }
        return (accounts, sessions)
    }

    // MARK: Plugin tables and Convex Auth

    /// The plugin tables and Convex Auth's tables (DESIGN §13.4), each only when the deployment has it: `twoFactor`
    /// and `passkey` by `userId`, email-OTP `verification` rows by identifier (and magic-link rows when the table is
    /// small enough to read), every `jwks` key, and Convex Auth's `authAccounts`/`authSessions` of this person.
    public func sideRows(normalizedEmail: String, userIds: [String], appIds: [String]) throws -> SideRows {
        var side = SideRows()
        side.componentTables = componentTables.sorted()
        func has(_ model: String) -> Bool { componentTables.contains(config.table(model)) }
        for id in userIds {
            if has("twoFactor") { side.twoFactors += try lookup("twoFactor", "userId", id) }
            if has("passkey") { side.passkeys += try lookup("passkey", "userId", id) }
        }
        if has("verification") {
            let table = config.table("verification")
            if let size = try tableSize(table, componentId), size <= DeploymentSource.autoScanRows {
                side.verifications = try scan(table: table, componentId: componentId, what: config.tableLabel("verification"))
                    .map { config.canonical($0, model: "verification") }
            } else {
                for type in ["sign-in", "email-verification", "forget-password"] {
                    side.verifications += try lookup("verification", "identifier", "\(type)-otp-\(normalizedEmail)")
                }
            }
        }
        if has("jwks") {
            // A handful of keys: one page, without asking the size first.
            let table = config.table("jwks")
            let rows = try pages(config.tableLabel("jwks"), maxPages: 10) { cursor throws(SourceError) in
                try tableQuery(table, componentId, filters: .null, numItems: 1000, cursor: cursor)
            }
            side.jwks = (rows ?? []).map { config.canonical($0, model: "jwks") }
        }
        side.convexAuthTables = ConvexAuthTables.names.filter(rootTables.contains)
        if rootTables.contains("authAccounts") {
            var found: [Row] = []
            if let size = try tableSize("authAccounts", .null), size <= DeploymentSource.autoScanRows {
                found = try scan(table: "authAccounts", componentId: .null, what: "authAccounts")
            } else {
                // Convex Auth keeps the email as typed: the typed and the normalized spelling.
                for v in Set([typedEmail?.trimmingCharacters(in: .whitespacesAndNewlines) ?? normalizedEmail, normalizedEmail]) {
                    found += try rootRows("authAccounts", "providerAccountId", v) ?? []
                }
                for id in appIds { found += try rootRows("authAccounts", "userId", id) ?? [] }
            }
            var seen = Set<String>()
            side.convexAuthAccounts = ConvexAuthTables.accounts(found, normalizedEmail: normalizedEmail, appIds: appIds)
                .filter { seen.insert($0["_id"]?.stringValue ?? "").inserted }
        }
        if rootTables.contains("authSessions") {
            let owners = Array(Set(side.convexAuthAccounts.compactMap { $0["userId"]?.stringValue })).sorted()
            for id in owners { side.convexAuthSessions += try rootRows("authSessions", "userId", id) ?? [] }
        }
        return side
    }

    /// App-namespace rows where `field == value`: through an index that starts with the field, else a plain filter.
    func rootRows(_ table: String, _ field: String, _ value: String) throws(SourceError) -> [Row]? {
        if let index = DeploymentSource.index(rootIndexes, table, field),
           let found = try indexed(table, .null, index: index, value: value, what: table) {
            return found
        }
        return try filtered(table, .null, field: field, value: value, what: table)
    }

    // MARK: App rows

    /// App rows: a page of the table to see its fields, then for the email's variants, the link field with each
    /// Better Auth id and legacy `_id`s: an `indexEq` lookup when the app schema has an index starting with the
    /// field, a plain filter (a server-side scan, noted in the report) when not, the whole table when refused.
    public func appRows(normalizedEmail: String, ids: [String], appIds: [String]) throws -> (candidates: [Row], sample: [Row]) {
        let table = config.appTable
        guard let first = try tableQuery(table, .null, filters: .null, numItems: 20, cursor: .null) else {
            throw client.failed("\(client.baseString): cannot read the app table '\(table)' through the system query.")
        }
        let sample = (first["page"].listValue ?? []).compactMap(\.mapValue)
        remember(sample)
        let link = PersonLookup.detectLinkField(config: config, appRows: sample, baUsers: [])
        if link == "tokenIdentifier" {
            note("app rows link by tokenIdentifier: the whole \(table) table was read.")
            return (try scan(table: table, componentId: .null, what: table), sample)
        }
        var lookups: [(String, String)] = DeploymentSource.variants(typed: typedEmail, normalizedEmail).map { (config.emailField, $0) }
        if Config.linkCandidates.contains(link) || !["email", Config.legacyLink].contains(link) {
            lookups += ids.map { (link, $0) }
        }
        lookups += appIds.map { ("_id", $0) }
        var rows: [Row] = []
        for (field, value) in lookups {
            if let index = DeploymentSource.index(rootIndexes, table, field),
               let found = try indexed(table, .null, index: index, value: value, what: table) {
                rows += found
                continue
            }
            if field != "_id" {
                note("\(table).\(field) has no index in the app's schema: the lookup scanned the table on the server. An index (`.index(\"by_\(field)\", [\"\(field)\"])`) makes it cheap.")
            }
            guard let found = try filtered(table, .null, field: field, value: value, what: table) else {
                // Filters refused (an older backend): read the table.
                note("the deployment refused filters: the whole \(table) table was read.")
                return (try scan(table: table, componentId: .null, what: table), sample)
            }
            rows += found
        }
        var seen = Set<String>()
        return (rows.filter { seen.insert($0["_id"]?.stringValue ?? "").inserted }, sample)
    }

    // MARK: audit

    /// `audit --url`: a table's rows, a page (1,000 rows) at a time, as parsed. `path` is an export path.
    public func chunks(_ path: String, _ consume: (TableChunk) throws(SourceError) -> Void) throws(SourceError) {
        var table = String(path.dropLast("/documents.jsonl".count))
        var id: Value = .null
        let prefix = config.exportPrefix
        if table.hasPrefix(prefix) {
            table = String(table.dropFirst(prefix.count))
            id = componentId
        }
        let size = try tableSize(table, id) ?? 1_000_000
        var count = 0
        let complete = try paginate(table, maxPages: DeploymentSource.pageLimit(size: size, numItems: 1000)) { cursor throws(SourceError) in
            try tableQuery(table, id, filters: .null, numItems: 1000, cursor: cursor)
        } each: { rows throws(SourceError) in
            count += rows.count
            progress("reading \(table): \(count) rows")
            try consume(.rows(rows))
            return true
        }
        guard complete else { throw client.failed("\(client.baseString): cannot read \(table) through the system query.") }
    }

    public func size(of path: String) -> Int { 0 }

    public func has(_ path: String) -> Bool {
        let table = String(path.dropLast("/documents.jsonl".count)), prefix = config.exportPrefix
        return table.hasPrefix(prefix) ? componentTables.contains(String(table.dropFirst(prefix.count))) : rootTables.contains(table)
    }

    // MARK: env

    /// The deployment's environment variables, as an env file for the env rules.
    public func environment() throws(SourceError) -> EnvFile {
        try DeploymentSource.environment(client)
    }

    /// The environment of any deployment (`check-env --url` needs no component).
    public static func environment(_ client: DeploymentClient) throws(SourceError) -> EnvFile {
        let where_ = "\(client.baseString) (env)"
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
        lock.lock()
        defer { lock.unlock() }
        var info = SourceInfo(kind: .deployment, location: client.baseString, deployment: deployment, isProd: isProd, tableRows: rows)
        info.notes = notes
        return info
    }
}
