import Foundation

/// A URL `probe` sends requests to: the app's site or the Convex site, and where the URL came from.
public struct ProbeTarget: Sendable, Equatable {
    /// Scheme, host and port (and a path prefix, if given), without credentials, query or trailing slash.
    public let url: String
    /// `scheme://host[:port]`: what a browser sends as `Origin`.
    public let origin: String
    /// `host[:port]`: what a proxy sends as `x-forwarded-host`.
    public let host: String
    /// `--site`, `NEXT_PUBLIC_SITE_URL in .env.local`, the deployment, ...
    public let from: String

    /// Nil for a value that is not an absolute http(s) URL with a host.
    public init?(_ raw: String, from: String) {
        guard var parts = URLComponents(string: raw.trimmingCharacters(in: .whitespacesAndNewlines)),
              let scheme = parts.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = parts.host?.lowercased(), !host.isEmpty else { return nil }
        // Credentials are never sent (libcurl would send them as Basic auth) nor printed.
        parts.user = nil
        parts.password = nil
        parts.query = nil
        parts.fragment = nil
        parts.scheme = scheme
        while parts.path.hasSuffix("/") { parts.path.removeLast() }
        guard let url = parts.string else { return nil }
        let port = parts.port.map { ":\($0)" } ?? ""
        self.url = url
        origin = "\(scheme)://\(host)\(port)"
        self.host = host + port
        self.from = from
    }

    public var facts: Value {
        .map(["url": .string(url), "origin": .string(origin), "host": .string(host), "from": .string(from)])
    }
}

/// One request `probe` sent and what came back (DESIGN §13.5, better-auth-facts-2.md §9.1).
public struct ProbeAnswer: Sendable {
    public enum Outcome: Sendable {
        /// An HTTP answer: the status, lower-cased headers, and the start of the body.
        case answered(status: Int, headers: [String: String], body: [UInt8])
        /// No HTTP answer: `dns`, `connect`, `tls`, `timeout`, `too-large` or `error`, with what went wrong.
        case failed(kind: String, text: String)
    }

    public let method: String
    public let url: String
    /// The headers sent that matter (`Origin: …`, `x-forwarded-host: …`); every request is sent without cookies
    /// and without credentials.
    public let sent: [String]
    public let outcome: Outcome

    public init(method: String, url: String, sent: [String], outcome: Outcome) {
        self.method = method
        self.url = url
        self.sent = sent
        self.outcome = outcome
    }

    var headers: [String: String] {
        if case .answered(_, let h, _) = outcome { return h }
        return [:]
    }

    var status: Int? {
        if case .answered(let s, _, _) = outcome { return s }
        return nil
    }

    /// The body's text, trimmed (at most 4 KiB of it).
    var text: String {
        guard case .answered(_, _, let body) = outcome else { return "" }
        return String(decoding: body.prefix(4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The `Origin` the request carried, for a preflight.
    var origin: String? {
        sent.first { $0.lowercased().hasPrefix("origin: ") }.map { String($0.dropFirst("origin: ".count)) }
    }

    /// What the answer means, from the table of better-auth-facts-2.md §9.1:
    /// `ok` (200 `{"ok":true}`), `no-routes` (404 "No matching routes found": convex/http.ts without the auth
    /// routes), `no-http-actions` (404: no convex/http.ts), `edge-404` (an empty 404 carrying `convex-usher`: Convex's
    /// edge), `empty-404` (an empty 404 without it: Better Auth's own), `not-found` (a 404 page), `server-error`,
    /// `redirect`, `denied` (401/403), `html` (a page, not Better Auth), `other`; for a preflight `allowed` or
    /// `not-allowed`; and the transport failures.
    public var kind: String {
        switch outcome {
        case .failed(let kind, _): return kind
        case .answered(let status, let headers, _):
            let text = self.text
            if (300...399).contains(status) { return "redirect" }
            if status == 404 {
                if text.contains("No matching routes found") { return "no-routes" }
                if text.contains("does not have HTTP actions enabled") { return "no-http-actions" }
                if text.isEmpty { return headers["convex-usher"] != nil ? "edge-404" : "empty-404" }
                return method == "OPTIONS" ? "not-allowed" : "not-found"
            }
            if (500...599).contains(status) { return "server-error" }
            if method == "OPTIONS" {
                let allow = headers["access-control-allow-origin"]
                return (200...299).contains(status) && (allow == "*" || (allow != nil && allow == origin)) ? "allowed" : "not-allowed"
            }
            if status == 200, (try? JSONParser.parse(text))?["ok"] == .bool(true) { return "ok" }
            if status == 401 || status == 403 { return "denied" }
            let type = headers["content-type"]?.lowercased() ?? ""
            if type.contains("html") || text.hasPrefix("<") { return "html" }
            return "other"
        }
    }

    /// The answer in a few words: `HTTP 404, empty body, convex-usher: usher`.
    public var summary: String {
        switch outcome {
        case .failed(_, let text): return text
        case .answered(let status, let headers, let body):
            var parts = ["HTTP \(status)"]
            let text = self.text
            if let location = headers["location"] { parts.append("to \(location)") }
            if method == "OPTIONS" {
                parts.append("Access-Control-Allow-Origin: \(headers["access-control-allow-origin"] ?? "none")")
                if let credentials = headers["access-control-allow-credentials"] { parts.append("Allow-Credentials: \(credentials)") }
            }
            if body.isEmpty {
                parts.append("empty body")
            } else if !text.isEmpty {
                let type = headers["content-type"].map { $0.split(separator: ";").first.map(String.init) ?? $0 }
                let oneLine = text.split(whereSeparator: \.isNewline).joined(separator: " ")
                let snippet = oneLine.count > 60 ? String(oneLine.prefix(60)) + "…" : oneLine
                parts.append((type.map { "\($0) " } ?? "") + snippet)
            }
            if let usher = headers["convex-usher"] { parts.append("convex-usher: \(usher)") }
            return parts.joined(separator: ", ")
        }
    }

    /// `GET https://app.example.com/api/auth/ok` (with the headers that matter).
    public var request: String {
        "\(method) \(url)" + (sent.isEmpty ? "" : " with " + sent.joined(separator: ", "))
    }

    public var facts: Value {
        let h = headers
        func opt(_ s: String?) -> Value { s.map { .string($0) } ?? .null }
        var error: String?
        if case .failed(_, let text) = outcome { error = text }
        return .map([
            "request": .string(request), "method": .string(method), "url": .string(url), "sent": .list(sent.map { .string($0) }),
            "status": status.map { .int(Int64($0)) } ?? .null, "kind": .string(kind), "summary": .string(summary),
            "contentType": opt(h["content-type"]), "usher": .bool(h["convex-usher"] != nil), "location": opt(h["location"]),
            "allowOrigin": opt(h["access-control-allow-origin"]), "allowCredentials": opt(h["access-control-allow-credentials"]),
            "error": opt(error),
        ])
    }
}

/// What `probe` sent and saw, as the facts its rules read.
public struct ProbeObservation: Sendable {
    public var site: ProbeTarget?
    public var convexSite: ProbeTarget?
    /// `GET <site>/api/auth/ok`, through the app.
    public var siteAnswer: ProbeAnswer?
    /// `GET <convex-site>/api/auth/ok`, direct.
    public var direct: ProbeAnswer?
    /// The same with `x-forwarded-host: <site host>` (#422/#424).
    public var forwardedHost: ProbeAnswer?
    /// `OPTIONS <convex-site>/api/auth/ok` with `Origin: <site origin>`.
    public var preflight: ProbeAnswer?

    public init(site: ProbeTarget?, convexSite: ProbeTarget?) {
        self.site = site
        self.convexSite = convexSite
    }

    /// The path of Better Auth's side-effect-free health route under the default base path.
    public static let okPath = "/api/auth/ok"

    /// One request of a probe: which one (`direct`, `site`, `forwardedHost`, `preflight`), and what is sent.
    public struct Request: Sendable {
        public let role: String
        public let method: String
        public let url: String
        /// Headers beyond the defaults; never a cookie or credentials.
        public let headers: [String]
    }

    /// Runs a probe's requests in order, each answered by `send` (over HTTP, or from a fixture's recorded answers):
    /// `GET <convex-site>/api/auth/ok`, `GET <site>/api/auth/ok`, the direct request again with
    /// `x-forwarded-host: <site host>` when the plain one answered ok (then a different answer is the header's
    /// doing), and a CORS preflight from the site's origin. A URL that is not known is not probed.
    public static func observe(site: ProbeTarget?, convexSite: ProbeTarget?,
                               _ send: (Request) -> ProbeAnswer.Outcome) -> ProbeObservation {
        var o = ProbeObservation(site: site, convexSite: convexSite)
        func ask(_ role: String, _ method: String, _ target: ProbeTarget, _ headers: [String] = []) -> ProbeAnswer {
            let request = Request(role: role, method: method, url: target.url + okPath, headers: headers)
            return ProbeAnswer(method: method, url: request.url, sent: headers, outcome: send(request))
        }
        if let convexSite { o.direct = ask("direct", "GET", convexSite) }
        if let site { o.siteAnswer = ask("site", "GET", site) }
        if let site, let convexSite {
            if o.direct?.kind == "ok" { o.forwardedHost = ask("forwardedHost", "GET", convexSite, ["x-forwarded-host: \(site.host)"]) }
            o.preflight = ask("preflight", "OPTIONS", convexSite, ["Origin: \(site.origin)", "Access-Control-Request-Method: POST",
                                                                  "Access-Control-Request-Headers: content-type"])
        }
        return o
    }

    /// How the browser reaches Better Auth: `proxy` (the site forwards /api/auth to Convex: its answer came from a
    /// Convex pipeline), `direct` (the site does not serve /api/auth and the Convex site allows its origin), or
    /// `unknown`.
    public var setup: String {
        if let kind = siteAnswer?.kind, ["ok", "edge-404", "no-routes", "no-http-actions"].contains(kind) { return "proxy" }
        if preflight?.kind == "allowed", siteAnswer?.kind != "empty-404" { return "direct" }
        return "unknown"
    }

    /// Every request, in the order sent.
    public var answers: [ProbeAnswer] { [direct, siteAnswer, forwardedHost, preflight].compactMap { $0 } }

    public var facts: Value {
        .map([
            "site": site?.facts ?? .null, "convexSite": convexSite?.facts ?? .null, "setup": .string(setup),
            "answers": .map([
                "site": siteAnswer?.facts ?? .null, "direct": direct?.facts ?? .null,
                "forwardedHost": forwardedHost?.facts ?? .null, "preflight": preflight?.facts ?? .null,
            ]),
        ])
    }

    /// The requests as the report shows them: a request log the user can check.
    public var exhibit: Report.Exhibit {
        let sent = answers
        let methods = Set(sent.map(\.method)).sorted().joined(separator: " and ")
        return Report.Exhibit(
            name: "requests",
            value: .list(sent.map { a in
                .map(["method": .string(a.method), "url": .string(a.url), "sent": .list(a.sent.map { .string($0) }),
                      "status": a.status.map { .int(Int64($0)) } ?? .null, "kind": .string(a.kind), "summary": .string(a.summary)])
            }),
            title: "\(sent.count) sent (\(methods.isEmpty ? "none" : methods + " only"), no cookies, no credentials)",
            lines: sent.map { "\($0.request) → \($0.summary)" })
    }
}

extension Doctor {
    /// `probe`: what the auth routes answered, through the `probe` rules (DESIGN §13.5).
    public static func probe(_ observation: ProbeObservation, source: SourceInfo, options: Options) -> Outcome {
        run(.probe, facts: observation.facts, source: source, options: options, exhibit: observation.exhibit) { passed in
            "the auth routes answer as they should: \(passed.count) check\(passed.count == 1 ? "" : "s") passed (\(passed.joined(separator: ", ")))."
        }
    }

    /// A command whose facts are one root beside the common ones (`jwt`, `probe`, named by its mode): its rules walked
    /// in step order, the verdict, and the report with what the command read shown beside the checks.
    static func run(_ mode: Mode, facts value: Value, source: SourceInfo, options: Options, exhibit: Report.Exhibit,
                    personalData: Set<String> = [], subjectEmail: String? = nil, notes: [String] = [],
                    healthy: ([String]) -> String) -> Outcome {
        var root = Facts.common(source: source, config: options.config, env: options.env, now: options.now)
        root["input"] = .null
        root["ba"] = .null
        root["app"] = .null
        root[mode.rawValue] = value
        let facts = Facts(root: root)
        let secrets = facts.secrets.union(options.secrets)
        let engine = Engine(rules: options.rules.rules(for: mode), failOn: options.failOn, disabled: options.config.disable,
                            net: DataNet(secrets: secrets, personalData: personalData, subjectEmail: subjectEmail),
                            deploymentNote: deploymentNote(source))
        let results = engine.run(facts)
        let verdict = Engine.verdict(results, healthyMessage: healthy(results.filter { $0.status == .pass }.map(\.rule)))
        var report = Report(command: mode.rawValue, input: nil, source: source, verdict: verdict, results: results,
                            notes: notes + options.envNotes + replacedNotes(options.rules))
        report.exhibits = [exhibit]
        return Outcome(report: report, secrets: secrets, personalData: personalData)
    }
}
