import AuthDoctorCore
import Foundation

/// The ids a token names, as `jwt` looks them up: `kid` in the `jwks` table, `sub` as a Better Auth user `_id`
/// (component ≥ 0.8) or an app row `_id` (≤ 0.7), `sessionId` as a session `_id`.
public struct TokenIds: Sendable {
    public let kid: String?
    public let sub: String?
    public let sessionId: String?

    /// The ids of the token's header and claims; a value that cannot be a Convex id (empty, not a string, longer
    /// than any id) is not looked up.
    public init(_ token: ConvexToken) {
        func id(_ v: Value?) -> String? {
            guard let s = v?.stringValue, (1...128).contains(s.utf8.count), !s.contains("\n") else { return nil }
            return s
        }
        kid = id(token.header["kid"])
        sub = id(token.claims["sub"])
        sessionId = id(token.claims["sessionId"])
    }
}

extension ExportSource {
    /// The rows a token is checked against, read from the export with the byte prefilter (each id an exact needle).
    public func tokenData(_ ids: TokenIds) throws(SourceError) -> TokenData {
        let prefix = componentPrefix, component = config.component
        func byId(_ table: String, _ key: String, _ id: String?) throws(SourceError) -> Row? {
            guard let id, archive.paths.contains(table) else { return nil }
            return try scan(table, key: key, needles: [.exact(id)]).rows.first { $0["_id"]?.stringValue == id }
        }
        let jwksPath = "\(prefix)jwks/documents.jsonl"
        let jwksTable = archive.paths.contains(jwksPath)
        var jwksRows: [Row] = []
        if jwksTable {
            // The table is small (one key per rotation): its first rows, and the token's row wherever it is.
            let found = try scan(jwksPath, key: "\(component)/jwks", needles: ids.kid.map { [Needle.exact($0)] } ?? [], sampleLines: 100)
            var seen = Set<String>()
            jwksRows = (found.rows + found.sample).filter { seen.insert($0["_id"]?.stringValue ?? "").inserted }
        }
        let user = try byId("\(prefix)user/documents.jsonl", "\(component)/user", ids.sub)
        let appUser = user == nil ? try byId("\(config.appTable)/documents.jsonl", config.appTable, ids.sub) : nil
        let session = try byId("\(prefix)session/documents.jsonl", "\(component)/session", ids.sessionId)
        let read = info
        var notes = read.notes
        if read.malformedLines > 0 {
            notes.append("\(read.malformedLines) malformed JSONL line(s) skipped (\(read.malformedExamples.joined(separator: ", "))): the export may be damaged.")
        }
        if !jwksTable { notes.append("the export has no \(component)/jwks table: the Convex plugin creates it with the first token.") }
        return TokenData(kind: "export", location: archive.location, jwksTable: jwksTable, keys: TokenKey.keys(fromRows: jwksRows),
                         user: user, appUser: appUser, session: session, notes: notes)
    }
}

extension DeploymentSource {
    /// The rows a token is checked against, read from the deployment: the whole `jwks` table (it has no index and a
    /// row per key), and each id through an `_id` filter (a direct get on the server).
    public func tokenData(_ ids: TokenIds) throws(SourceError) -> TokenData {
        let component = config.component
        var notes: [String] = []
        func byId(_ table: String, _ namespace: Value, _ what: String, _ id: String?) throws(SourceError) -> Row? {
            guard let id else { return nil }
            guard let rows = try filtered(table, namespace, field: "_id", value: id, what: what) else {
                notes.append("the deployment refused the lookup of \(what) \(id) by _id.")
                return nil
            }
            return rows.first { $0["_id"]?.stringValue == id }
        }
        let jwksTable = try DeploymentSource.tableNames(client, componentId).contains("jwks")
        let jwksRows = jwksTable ? try scan(table: "jwks", componentId: componentId, what: "\(component)/jwks") : []
        let user = try byId("user", componentId, "\(component)/user", ids.sub)
        let appUser = user == nil ? try byId(config.appTable, .null, config.appTable, ids.sub) : nil
        let session = try byId("session", componentId, "\(component)/session", ids.sessionId)
        if !jwksTable { notes.append("the \(component) component has no jwks table: the Convex plugin creates it with the first token.") }
        return TokenData(kind: "deployment", location: client.baseString, jwksTable: jwksTable, keys: TokenKey.keys(fromRows: jwksRows),
                         user: user, appUser: appUser, session: session, notes: notes)
    }

    /// The deployment's `CONVEX_SITE_URL` (`_system/frontend/convexSiteUrl`); for a `.convex.cloud` URL whose
    /// deployment cannot say, its `.convex.site` twin; else nil.
    public static func siteURL(_ client: DeploymentClient) throws(SourceError) -> String? {
        if case .success(let v) = try client.call(endpoint: "/api/query", path: "_system/frontend/convexSiteUrl", args: .map([:])),
           let url = v.stringValue, !url.isEmpty {
            return url
        }
        guard let host = client.base.host, host.hasSuffix(".convex.cloud") else { return nil }
        return "https://" + host.dropLast(".convex.cloud".count) + ".convex.site"
    }
}

extension TokenCheck {
    /// The check of a token against what a run has (DESIGN §13.9): `site` (from `--convex-site`, else the deployment),
    /// else the Convex env file's `CONVEX_SITE_URL`; the env's static `JWKS`; the rows looked up. The signature is
    /// verified when the token's key is among them.
    public static func make(token: ConvexToken, now: Date, site: (url: String, from: String)?, convexEnv: EnvFile?,
                            data: TokenData?) -> TokenCheck {
        var check = TokenCheck(token: token, now: now)
        let values = convexEnv?.values ?? [:]
        if let site {
            check.expectedIssuer = site.url
            check.issuerFrom = site.from
        } else if let url = values["CONVEX_SITE_URL"], !url.isEmpty, let env = convexEnv {
            check.expectedIssuer = url
            check.issuerFrom = "CONVEX_SITE_URL in \(env.path)"
        }
        check.data = data
        // A static JWKS signs instead of the jwks table: its public keys count (env.jwks-static checks its shape).
        if let jwks = values["JWKS"] { check.staticKeys = TokenKey.keys(fromStaticJWKS: jwks) }
        check.signature = JWTSignature.check(token, key: check.key)
        return check
    }
}
