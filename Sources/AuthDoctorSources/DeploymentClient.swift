import AuthDoctorCore
import Foundation

/// Reads a live Convex deployment over HTTP (libcurl, `HTTPExchange`), read-only: only `GET /version`, system
/// queries through `/api/query` and component queries through `/api/function`. Never a mutation, action,
/// import, export request or env write. Redirects are never followed; every request has a hard deadline and a
/// capped answer; broken connections are resent at once with the whole request, 429/503 after a backoff (or a
/// valid `Retry-After`). The key is sent as `Authorization: Convex <key>`; every message the client makes goes
/// through `redact`, so neither the key nor URL credentials nor an echoed header reach the user.
public final class DeploymentClient: @unchecked Sendable {
    /// The deployment URL without credentials and without a trailing slash.
    public let base: URL
    let baseString: String
    let key: String
    let timeout: TimeInterval
    let maxAttempts = 4
    let retryBase: Double
    /// Strings no message may show: the key, its secret part, URL credentials.
    let hidden: [String]
    /// Every request sent, as `METHOD /path [udf path]`, for tests and `--verbose`-style accounting.
    public private(set) var log: [String] = []
    let lock = NSLock()
    /// Answer caps: a page of documents, anything else.
    public static let pageCap = 64 << 20
    public static let bodyCap = 16 << 20

    /// `http`: the deadline of a request and the retry backoff (`AUTH_DOCTOR_HTTP_TIMEOUT_S`, `AUTH_DOCTOR_RETRY_BASE_MS`).
    public init(url: String, key: String, http: HTTPSettings = HTTPSettings()) throws(SourceError) {
        let trimmed = url.trimmingCharacters(in: .whitespacesAndNewlines)
        var hidden = [key]
        if let bar = key.lastIndex(of: "|"), key.distance(from: bar, to: key.endIndex) > 8 { hidden.append(String(key[key.index(after: bar)...])) }
        let shown = DeploymentClient.withoutCredentials(trimmed)
        guard var parts = URLComponents(string: trimmed), let scheme = parts.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = parts.host, !host.isEmpty else {
            throw SourceError(DeploymentClient.scrub("\(shown): not a deployment URL. Give the URL like https://happy-animal-123.convex.cloud (or http://127.0.0.1:3210 for a self-hosted backend).", hidden))
        }
        // Credentials in the URL are never sent (libcurl would send them as Basic auth) nor printed.
        // The password wherever it appears; a user name only when it is long enough to be a token (`https://<token>@…`),
        // so a user `admin` does not mask the word in messages. URLs lose the whole userinfo either way.
        for part in [parts.password, parts.percentEncodedPassword] { if let part, part.count >= 3 { hidden.append(part) } }
        for part in [parts.user, parts.percentEncodedUser] { if let part, part.count >= 12 { hidden.append(part) } }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        parts.fragment = nil
        while parts.path.hasSuffix("/") { parts.path.removeLast() }
        guard let clean = parts.url else {
            throw SourceError(DeploymentClient.scrub("\(shown): not a deployment URL.", hidden))
        }
        // The HTTP-actions site answers `/version` too (the self-hosted site proxy): say so before sending the key there.
        if host.lowercased().hasSuffix(".convex.site") {
            let cloud = host.dropLast(".convex.site".count) + ".convex.cloud"
            throw SourceError("\(clean.absoluteString): a .convex.site URL serves HTTP actions, not the deployment API. Use https://\(cloud).")
        }
        if parts.port == 3211 {
            throw SourceError("\(clean.absoluteString): port 3211 is a self-hosted backend's HTTP-actions (site) port, not its API. Use port 3210.")
        }
        base = clean
        baseString = clean.absoluteString
        self.key = key
        self.hidden = hidden.sorted { $0.count > $1.count }
        timeout = http.timeout
        retryBase = http.retryBase
    }

    static let echoedCredential = try! NSRegularExpression(pattern: #"(?i)\b(Convex|Bearer|Basic)\s+(?=[^\s"',}\]\\]*\||[A-Za-z0-9._~+/=:|-]{24,})[^\s"',}\]\\]+"#)

    /// The key in a key file or variable: the value of a `NAME=value` line (`CONVEX_DEPLOY_KEY=prod:…`, quotes
    /// removed) or the first non-comment line, without CR/LF. A value that still holds a control character or
    /// a space is refused: it would break or forge the header.
    public static func keyValue(_ text: String, from origin: String) throws(SourceError) -> String {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard var value = lines.first(where: { !$0.isEmpty && !$0.hasPrefix("#") }) else {
            throw SourceError("\(origin): the key is empty.")
        }
        if value.hasPrefix("export ") { value = value.dropFirst(7).trimmingCharacters(in: .whitespaces) }
        if let eq = value.firstIndex(of: "="), !value[..<eq].isEmpty,
           value[..<eq].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
            value = value[value.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = String(value.dropFirst().dropLast()) }
        guard !value.isEmpty else { throw SourceError("\(origin): the key is empty.") }
        // (A `Bearer …` token is kept whole so the caller can say it is a user's token.)
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || ($0 == " " && !value.hasPrefix("Bearer ")) }) else {
            throw SourceError("\(origin): the key holds a space or a control character; put only the key on one line.")
        }
        return value
    }

    /// `scheme://user:pass@host` → `scheme://host`, for messages about a URL that could not be parsed.
    static func withoutCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { "/?#".contains($0) } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + rest[rest.index(after: at)...]
    }

    /// Removes the key, URL credentials and any echoed `Authorization` value from a message.
    public func redact(_ text: String) -> String { DeploymentClient.scrub(text, hidden) }

    static func scrub(_ text: String, _ hidden: [String]) -> String {
        var out = text
        for h in hidden where !h.isEmpty { out = out.replacingOccurrences(of: h, with: "[redacted]") }
        // An echoed header: `Convex <token>`, `Bearer <token>`, `Basic <token>`.
        out = echoedCredential.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out), withTemplate: "$1 [redacted]")
        return DeploymentClient.withoutCredentialsEverywhere(out)
    }

    /// Any `scheme://user:pass@` in a message loses its credentials.
    static func withoutCredentialsEverywhere(_ text: String) -> String {
        guard text.contains("@"), text.contains("://") else { return text }
        return text.split(separator: " ", omittingEmptySubsequences: false).map { word in
            word.contains("://") ? withoutCredentials(String(word)) : String(word)
        }.joined(separator: " ")
    }

    /// A failure message, redacted.
    func failed(_ message: String) -> SourceError { SourceError(redact(message)) }

    /// One HTTP exchange with retries. `cap` bounds the answer's size after inflation.
    func send(_ method: String, _ path: String, body: Data?, label: String, cap: Int = DeploymentClient.bodyCap) throws(SourceError) -> (Int, Data) {
        let where_ = "\(baseString)\(path)"
        var headers = ["Authorization: Convex \(key)", "Convex-Client: auth-doctor-\(toolVersion)"]
        if body != nil { headers.append("Content-Type: application/json") }
        let exchange = HTTPExchange(method: method, url: where_, headers: headers, body: body, deadline: timeout, cap: cap)
        let sent = exchange.performWithRetries(maxAttempts: maxAttempts, pause: pause) {
            lock.lock()
            log.append("\(method) \(path)\(label.isEmpty ? "" : " \(label)")")
            lock.unlock()
        }
        switch sent.result {
        case .failure(.tooLarge(let cap)):
            throw failed("\(where_): the answer is larger than \(cap >> 20) MiB (after decompression); auth-doctor stops reading there. Is this URL a Convex deployment?")
        case .failure(.transport(let code, let text)):
            throw failed(describe(code: code, text: text, url: where_, attempts: sent.attempts, timeouts: sent.timeouts, broken: sent.broken))
        case .success(let response):
            if (300...399).contains(response.status) {
                let target = response.redirect ?? response.headers["location"] ?? "an unnamed location"
                throw failed("\(where_): the server redirects (HTTP \(response.status)) to \(DeploymentClient.withoutCredentials(target)). auth-doctor never follows redirects, so the key goes nowhere else: give the deployment's own URL with --url.")
            }
            return (response.status, response.body)
        }
    }

    func pause(_ attempt: Int, retryAfter: Double?) {
        HTTPExchange.pause(attempt: attempt, retryAfter: retryAfter, base: retryBase)
    }

    func describe(code: UInt32, text: String, url: String, attempts: Int, timeouts: Int, broken: Int) -> String {
        let host = base.host ?? ""
        switch code {
        case HTTPExchange.couldNotResolve:
            return "\(url): cannot resolve \(host) (DNS). Check the deployment URL (--url, CONVEX_URL)."
        case HTTPExchange.couldNotConnect:
            return "\(url): connection refused (\(text)). Is the deployment running? (self-hosted backends listen on port 3210)"
        case HTTPExchange.timedOut:
            return "\(url): timed out \(timeouts) time(s) (a deadline of \(String(format: "%g", timeout)) s per request). The deployment is slow or unreachable; try again later."
        case HTTPExchange.badEncoding:
            return "\(url): the answer's compression is broken (\(text)). Is this URL a Convex deployment?"
        case let c where HTTPExchange.tls.contains(c):
            return "\(url): TLS error (\(text)). Check the URL's scheme (http:// for a local backend) and the machine's CA certificates."
        case let c where HTTPExchange.broken.contains(c):
            return "\(url): the connection broke \(broken + 1) time(s) (\(text)). Check the network or try again later."
        default:
            return "\(url): \(text) (after \(attempts) attempt(s))."
        }
    }

    /// Maps an HTTP failure to a message that names the cause.
    func failure(_ status: Int, _ data: Data, path: String) -> SourceError {
        let body = (try? JSONParser.parse(data)) ?? .null
        let code = body["code"].stringValue ?? ""
        let where_ = "\(baseString)\(path)"
        return failed(DeploymentClient.explain(status, code, body, where_, maxAttempts: maxAttempts, path: path))
    }

    static func explain(_ status: Int, _ code: String, _ body: Value, _ where_: String, maxAttempts: Int, path: String) -> String {
        switch (status, code) {
        case (401, _):
            return ("\(where_): the key was rejected (401 \(code.isEmpty ? "Unauthorized" : code)). Use a deploy or admin key of this deployment ($CONVEX_DEPLOY_KEY, $CONVEX_SELF_HOSTED_ADMIN_KEY, $CONVEX_ADMIN_KEY or --admin-key-file).")
        case (403, "SystemIdentityRequired"):
            return ("\(where_): 403 SystemIdentityRequired: the key is not an admin key (a user's Bearer JWT?). Use a deploy or admin key.")
        case (403, _):
            return ("\(where_): the key is not allowed here (403 \(code.isEmpty ? "Forbidden" : code)). A dev key on a prod URL, or a key of another deployment?")
        case (404, _) where path == "/version":
            return ("\(where_): 404. This does not look like a Convex deployment URL. Give the .convex.cloud URL (not .convex.site), or http://127.0.0.1:3210 for a self-hosted backend.")
        case (500...599, _):
            return ("\(where_): the deployment answered HTTP \(status)\(status == 503 ? " \(maxAttempts) times" : ""). Try again later.")
        default:
            let message = body["message"].stringValue.map { ": \($0)" } ?? ""
            return ("\(where_): HTTP \(status) \(code)\(message)")
        }
    }

    public func version() throws(SourceError) -> String {
        let (status, data) = try send("GET", "/version", body: nil, label: "")
        guard status == 200 else { throw failure(status, data, path: "/version") }
        return String(decoding: data, as: UTF8.self)
    }

    /// A function call; a function error (HTTP 200 with status "error") is returned as `.failure`.
    public enum CallResult {
        case success(Value)
        case failure(String)
    }

    public func call(endpoint: String, path: String, args: Value, componentPath: String? = nil) throws(SourceError) -> CallResult {
        var body: [String: Value] = ["path": .string(path), "args": args, "format": .string("json")]
        if let componentPath { body["componentPath"] = .string(componentPath) }
        let pages = path.hasSuffix("paginatedTableDocuments") || path.hasSuffix("findMany")
        let (status, data) = try send("POST", endpoint, body: Data(JSONWriter.write(.map(body), pretty: false).utf8), label: path,
                                      cap: pages ? DeploymentClient.pageCap : DeploymentClient.bodyCap)
        guard status == 200 else { throw failure(status, data, path: endpoint) }
        let value: Value
        do { value = try JSONParser.parse(data) } catch {
            throw failed("\(baseString)\(endpoint): the answer is not JSON.")
        }
        if value["status"].stringValue == "success" { return .success(value["value"]) }
        return .failure(value["errorMessage"].stringValue ?? "unknown error")
    }

    /// A system query that must succeed.
    public func systemQuery(_ path: String, _ args: Value) throws(SourceError) -> Value {
        switch try call(endpoint: "/api/query", path: path, args: args) {
        case .success(let v): return v
        case .failure(let m) where m.contains("Could not find public function for '_system"):
            throw failed("\(baseString)/api/query: the key cannot call system queries (\(m)). Use a deploy or admin key, not a user token.")
        case .failure(let m): throw failed("\(baseString)/api/query \(path): \(m)")
        }
    }
}
