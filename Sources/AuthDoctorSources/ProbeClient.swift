import AuthDoctorCore
import Foundation

/// Sends `probe`'s requests (DESIGN §13.5): only `GET` and `OPTIONS` of Better Auth's side-effect-free `/ok`
/// route (better-auth-facts-2.md §9.2), never with cookies, an `Authorization` header or URL credentials, with the
/// deployment client's deadline, retry policy and caps, and redirects reported, never followed.
public struct ProbeClient: Sendable {
    /// Seconds per request (`AUTH_DOCTOR_HTTP_TIMEOUT_S`, as for the deployment client).
    let timeout: TimeInterval
    let retryBase: Double
    /// An answer is read up to this size: `/ok` is 11 bytes, a site's HTML page is not worth more.
    public static let cap = 1 << 20

    public init(http: HTTPSettings = HTTPSettings()) {
        timeout = http.timeout
        retryBase = http.retryBase
    }

    /// Probes the site (through the app) and the Convex site (direct, with `x-forwarded-host`, and a CORS preflight
    /// from the site's origin) over HTTP.
    public func run(site: ProbeTarget?, convexSite: ProbeTarget?) -> ProbeObservation {
        ProbeObservation.observe(site: site, convexSite: convexSite) { send($0.method, $0.url, headers: $0.headers) }
    }

    func send(_ method: String, _ url: String, headers: [String]) -> ProbeAnswer.Outcome {
        // What a browser's fetch would ask for; never a cookie or an Authorization header.
        let accept = method == "OPTIONS" ? "*/*" : "application/json, text/plain, */*"
        var exchange = HTTPExchange(method: method, url: url, headers: headers + ["User-Agent: auth-doctor/\(toolVersion)"], body: nil,
                                    deadline: timeout, cap: ProbeClient.cap)
        exchange.accept = accept
        let sent = exchange.performWithRetries(maxAttempts: 4) { attempt, retryAfter in
            HTTPExchange.pause(attempt: attempt, retryAfter: retryAfter, base: retryBase)
        }
        switch sent.result {
        case .success(let r):
            var headers = r.headers
            if let target = r.redirect ?? r.headers["location"] { headers["location"] = DeploymentClient.withoutCredentials(target) }
            return .answered(status: r.status, headers: headers, body: [UInt8](r.body))
        case .failure(.tooLarge(let cap)):
            return .failed(kind: "too-large", text: "answered more than \(cap >> 20) MiB (not Better Auth's /ok, which is 11 bytes)")
        case .failure(.transport(let code, let text)):
            let host = URLComponents(string: url)?.host ?? url
            switch code {
            case HTTPExchange.couldNotResolve: return .failed(kind: "dns", text: "cannot resolve \(host) (DNS)")
            case HTTPExchange.couldNotConnect: return .failed(kind: "connect", text: "connection refused (\(text))")
            case HTTPExchange.timedOut:
                return .failed(kind: "timeout", text: "timed out \(sent.timeouts) time(s) (a deadline of \(String(format: "%g", timeout)) s per request)")
            case let c where HTTPExchange.tls.contains(c): return .failed(kind: "tls", text: "TLS error (\(text))")
            default: return .failed(kind: "error", text: "\(text) (after \(sent.attempts) attempt(s))")
            }
        }
    }
}
