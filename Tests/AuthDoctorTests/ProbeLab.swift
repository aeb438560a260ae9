import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A request as a lab server received it.
struct LabRequest: Sendable {
    let method: String
    let path: String
    /// Lower-cased names.
    let headers: [String: String]
}

/// An answer of a lab server.
struct LabAnswer: Sendable {
    var status: Int
    var headers: [String: String] = [:]
    var body = ""
}

/// A small HTTP/1.1 server on 127.0.0.1 that records every request and answers with `answer`; one request per
/// connection, connections served concurrently (`LocalListener`). A TLS handshake is hung up on, as a plain HTTP
/// server would.
final class LabServer: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [LabRequest] = []
    private var listener: LocalListener!
    var port: Int { listener.port }
    var answer: @Sendable (LabRequest) -> LabAnswer?

    init(_ answer: @escaping @Sendable (LabRequest) -> LabAnswer?) throws {
        self.answer = answer
        listener = try LocalListener { [self] conn in serve(conn) }
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var host: String { "127.0.0.1:\(port)" }

    var log: [LabRequest] {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }

    /// Records a request that reached this server some other way (the lab app hands proxied requests over).
    func record(_ r: LabRequest) {
        lock.lock()
        requests.append(r)
        lock.unlock()
    }

    func stop() {
        listener.stop()
    }

    private func serve(_ conn: Int32) {
        defer { close(conn) }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16384)
        while buffer.firstRange(of: Array("\r\n\r\n".utf8)) == nil {
            let n = read(conn, &chunk, chunk.count)
            if n <= 0 { return }
            buffer += chunk[0..<n]
            if buffer.first == 0x16 { return }
        }
        let lines = String(decoding: buffer, as: UTF8.self).components(separatedBy: "\r\n")
        let first = lines[0].split(separator: " ")
        guard first.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = LabRequest(method: String(first[0]), path: String(first[1]), headers: headers)
        record(request)
        guard let a = answer(request) else { return }  // nil: hang up without answering
        var head = "HTTP/1.1 \(a.status) Lab\r\nContent-Length: \(a.body.utf8.count)\r\nConnection: close\r\n"
        for (k, v) in a.headers.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        _ = FakeDeployment.send(conn, Array((head + "\r\n" + a.body).utf8))
    }
}

/// A Convex site and an app in front of it, on 127.0.0.1, as the probe meets them (better-auth-facts-2.md §9):
/// the Convex site answers `/api/auth/ok` like a deployment with the routes registered and, like Convex's edge since
/// 2026-08-12, an empty 404 with `convex-usher` when `x-forwarded-host` names another host (get-convex/better-auth
/// #422, #424); the app serves `/api/auth/*` by handing the request to the Convex site with the headers its route
/// handler adds (the 0.12.5 Next.js handler adds `x-forwarded-host: <app host>`).
final class ProbeLab: @unchecked Sendable {
    enum Routes { case registered, missing, noHTTPActions, initError }
    enum App { case proxy(forwardedHost: Bool), spa, missingRoute, redirect }

    let convex: LabServer
    let app: LabServer

    /// `cors`: the origins the Convex site's preflight allows ("app" is the app's own); nil: routes without CORS.
    init(routes: Routes = .registered, edgeRoutesOnForwardedHost: Bool = true, cors: [String]? = nil, app appKind: App) throws {
        let app = try LabServer { _ in nil }
        let appHost = app.host
        let cors = cors.map { list in list.map { $0 == "app" ? app.url : $0 } }
        let convex = try LabServer { _ in nil }
        let convexHost = convex.host
        let site: @Sendable (LabRequest) -> LabAnswer = { r in
            if edgeRoutesOnForwardedHost, let forwarded = r.headers["x-forwarded-host"], forwarded != convexHost {
                return LabAnswer(status: 404, headers: ["convex-usher": "usher"])
            }
            guard r.path.hasPrefix("/api/auth/") else { return LabAnswer(status: 404, body: "No matching routes found") }
            if r.method == "OPTIONS" {
                guard let cors else { return LabAnswer(status: 404, headers: ["Content-Type": "text/plain"], body: "No matching routes found") }
                var h = ["Access-Control-Allow-Methods": "GET,POST", "Vary": "Origin"]
                if let origin = r.headers["origin"], cors.contains(origin) {
                    h["Access-Control-Allow-Origin"] = origin
                    h["Access-Control-Allow-Credentials"] = "true"
                }
                return LabAnswer(status: 204, headers: h)
            }
            switch routes {
            case .registered: return LabAnswer(status: 200, headers: ["Content-Type": "application/json"], body: #"{"ok":true}"#)
            case .missing: return LabAnswer(status: 404, headers: ["Content-Type": "text/plain"], body: "No matching routes found")
            case .noHTTPActions:
                return LabAnswer(status: 404, headers: ["Content-Type": "text/plain"], body: "This Convex deployment does not have HTTP actions enabled.")
            case .initError: return LabAnswer(status: 500)
            }
        }
        convex.answer = site
        app.answer = { r in
            switch appKind {
            case .proxy(let forwardedHost):
                guard r.path.hasPrefix("/api/auth/") else { return LabAnswer(status: 404, headers: ["Content-Type": "text/html"], body: "<html>404</html>") }
                var headers = r.headers
                headers["host"] = convexHost
                if forwardedHost { headers["x-forwarded-host"] = appHost }
                let proxied = LabRequest(method: r.method, path: r.path, headers: headers)
                convex.record(proxied)
                return site(proxied)
            case .spa:
                return LabAnswer(status: 200, headers: ["Content-Type": "text/html; charset=utf-8"], body: "<!DOCTYPE html><html><body><div id=\"root\"></div></body></html>")
            case .missingRoute:
                return LabAnswer(status: 404, headers: ["Content-Type": "text/html"], body: "<html>404: This page could not be found.</html>")
            case .redirect:
                return LabAnswer(status: 307, headers: ["Location": "/login?next=%2Fapi%2Fauth%2Fok"])
            }
        }
        self.convex = convex
        self.app = app
    }

    func stop() {
        convex.stop()
        app.stop()
    }

    /// Every request either server received, proxied ones included.
    var requests: [LabRequest] { app.log + convex.log }
}
