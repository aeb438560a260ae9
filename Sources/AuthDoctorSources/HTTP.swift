import CCurl
import Foundation

/// The deadline and the retry backoff of every request of live mode and `probe`: `AUTH_DOCTOR_HTTP_TIMEOUT_S`
/// (seconds per request, connect to last byte; default 30) and `AUTH_DOCTOR_RETRY_BASE_MS` (the first backoff;
/// default 250 ms), from the environment given (the process's by default).
public struct HTTPSettings: Sendable {
    public var timeout: TimeInterval
    /// Seconds.
    public var retryBase: Double

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        timeout = Double(environment["AUTH_DOCTOR_HTTP_TIMEOUT_S"] ?? "") ?? 30
        retryBase = Double(environment["AUTH_DOCTOR_RETRY_BASE_MS"] ?? "").map { $0 / 1000 } ?? 0.25
    }
}

/// One HTTP exchange over libcurl with the guarantees live mode needs (DESIGN §13.8): redirects are never
/// followed, the whole exchange has a hard deadline (connect, send, every byte of the answer), the body is
/// capped after inflation (`Content-Length` past the cap is refused before reading; a stream or a compressed
/// answer is cut at the cap), `Accept-Encoding` is explicit, and failures keep libcurl's precise code.
struct HTTPExchange {
    struct Response {
        let status: Int
        /// Lower-cased names; the last value of a repeated header.
        let headers: [String: String]
        let body: Data
        /// The absolute target of a 3xx answer, as libcurl resolved it.
        let redirect: String?
    }

    enum Failure: Error {
        /// A libcurl error: its code and its text (the error buffer, else `curl_easy_strerror`).
        case transport(code: UInt32, text: String)
        /// The answer passed `cap` bytes (declared or after inflation).
        case tooLarge(cap: Int)
    }

    /// `GET`, `POST` or `OPTIONS`.
    let method: String
    let url: String
    let headers: [String]
    let body: Data?
    /// Seconds for the whole exchange.
    let deadline: TimeInterval
    let cap: Int
    /// The `Accept` header: JSON for the deployment API; `probe` says what a browser would.
    var accept = "application/json"

    static let noProxy: String = {
        let env = ProcessInfo.processInfo.environment
        return ([env["NO_PROXY"], env["no_proxy"]].compactMap { $0 }.filter { !$0.isEmpty } + ["127.0.0.1", "localhost", "::1"]).joined(separator: ",")
    }()

    private static let initialized: Bool = curl_global_init(3) == CURLE_OK  // CURL_GLOBAL_ALL

    /// Collects the answer for the C callbacks.
    final class Sink {
        var body = Data()
        var headers: [String: String] = [:]
        let cap: Int
        var overflow = false
        init(cap: Int) { self.cap = cap }
    }

    func perform() -> Result<Response, Failure> {
        _ = HTTPExchange.initialized
        guard let handle = curl_easy_init() else { return .failure(.transport(code: 2, text: "libcurl could not start")) }
        defer { curl_easy_cleanup(handle) }
        let sink = Sink(cap: cap)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>?
        // No `Expect: 100-continue` round trip.
        for header in headers + ["Expect:", "Accept: \(accept)"] { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let milliseconds = max(1, Int(deadline * 1000))
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            _ = ccurl_setopt_string(handle, CURLOPT_URL, url)
            _ = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            _ = ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            // A local backend is never reached through a proxy from the environment (the user's NO_PROXY kept).
            _ = ccurl_setopt_string(handle, CURLOPT_NOPROXY, HTTPExchange.noProxy)
            _ = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds)
            _ = ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(milliseconds, 10_000))
            _ = ccurl_setopt_off(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(cap))
            _ = ccurl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "gzip")
            _ = ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
            _ = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
            _ = ccurl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, { data, size, count, context in
                guard let context else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                let n = size * count
                // Counted after libcurl's inflation, so a small gzip cannot grow past the cap.
                guard sink.body.count + n <= sink.cap else { sink.overflow = true; return 0 }
                if let data { sink.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: n) }
                return n
            })
            _ = ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
            _ = ccurl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, { data, size, count, context in
                guard let context else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                let n = size * count
                guard let data else { return n }
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
                if line.hasPrefix("HTTP/") { sink.headers = [:] }
                if let colon = line.firstIndex(of: ":") {
                    sink.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                }
                return n
            })
            _ = ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
            if method == "POST" {
                let payload = body ?? Data()
                _ = ccurl_setopt_long(handle, CURLOPT_POST, 1)
                _ = ccurl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(payload.count))
                // Copied by libcurl: every attempt sends the whole body.
                if payload.isEmpty {
                    _ = ccurl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "")
                } else {
                    payload.withUnsafeBytes { raw in
                        if let base = raw.baseAddress { _ = ccurl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)) }
                    }
                }
            } else {
                _ = ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1)
                // A CORS preflight: a GET without a body under another method name.
                if method == "OPTIONS" { _ = ccurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, "OPTIONS") }
            }
            return curl_easy_perform(handle)
        }
        if sink.overflow || code == CURLE_FILESIZE_EXCEEDED { return .failure(.tooLarge(cap: cap)) }
        guard code == CURLE_OK else {
            let buffer = errorBuffer.withUnsafeBufferPointer { $0.baseAddress.map { String(cString: $0) } ?? "" }
            let text = buffer.isEmpty ? String(cString: curl_easy_strerror(code)) : buffer
            return .failure(.transport(code: code.rawValue, text: text))
        }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var target: UnsafeMutablePointer<CChar>?
        _ = ccurl_getinfo_string(handle, CURLINFO_REDIRECT_URL, &target)
        return .success(Response(status: status, headers: sink.headers, body: sink.body, redirect: target.map { String(cString: $0) }))
    }

    /// How a request ended under the live-mode retry policy, with the counts its messages need.
    struct Attempts {
        let result: Result<Response, Failure>
        let attempts: Int
        let timeouts: Int
        let broken: Int
    }

    /// Sends the exchange under the live-mode retry policy (DESIGN §13.8, §13.9): a dropped or reset connection is
    /// resent at once with the whole request (at most `maxAttempts` tries), a timeout is tried once more, 429/503 are
    /// retried after `pause` (with the answer's `Retry-After` when it is valid). `before` runs before every try.
    func performWithRetries(maxAttempts: Int, pause: (Int, Double?) -> Void, before: () -> Void = {}) -> Attempts {
        var attempt = 0, timeouts = 0, broken = 0
        while true {
            attempt += 1
            before()
            let result = perform()
            switch result {
            case .failure(.transport(let code, _)):
                if HTTPExchange.broken.contains(code) && attempt < maxAttempts {
                    broken += 1
                    continue
                }
                if code == HTTPExchange.timedOut {
                    timeouts += 1
                    // One more try: each try has the full deadline, so two are the most a user waits for.
                    if timeouts < 2 { continue }
                }
            case .success(let response) where (response.status == 429 || response.status == 503) && attempt < maxAttempts:
                pause(attempt, HTTPExchange.retryAfter(response.headers["retry-after"]))
                continue
            default:
                break
            }
            return Attempts(result: result, attempts: attempt, timeouts: timeouts, broken: broken)
        }
    }

    /// Waits before retry `attempt`: the answer's `Retry-After`, else exponential backoff from `base` seconds with
    /// jitter; never more than 10 s.
    static func pause(attempt: Int, retryAfter: Double?, base: Double) {
        let backoff = base * pow(2, Double(attempt - 1)) * Double.random(in: 0.75...1.25)
        Thread.sleep(forTimeInterval: min(retryAfter ?? backoff, 10))
    }

    /// `Retry-After` in seconds when it is a finite number ≥ 0, at most 10; anything else is ignored.
    static func retryAfter(_ header: String?) -> Double? {
        guard let header, let seconds = Double(header.trimmingCharacters(in: .whitespaces)), seconds.isFinite, seconds >= 0 else { return nil }
        return min(seconds, 10)
    }

    /// libcurl codes the client treats specially.
    static let couldNotResolve = CURLE_COULDNT_RESOLVE_HOST.rawValue
    static let couldNotConnect = CURLE_COULDNT_CONNECT.rawValue
    static let timedOut = CURLE_OPERATION_TIMEDOUT.rawValue
    static let badEncoding = CURLE_BAD_CONTENT_ENCODING.rawValue
    /// The connection broke before a complete answer: resent at once.
    static let broken: Set<UInt32> = [CURLE_SEND_ERROR.rawValue, CURLE_RECV_ERROR.rawValue, CURLE_GOT_NOTHING.rawValue, CURLE_PARTIAL_FILE.rawValue]
    static let tls: Set<UInt32> = [CURLE_SSL_CONNECT_ERROR.rawValue, CURLE_PEER_FAILED_VERIFICATION.rawValue, CURLE_SSL_CERTPROBLEM.rawValue,
                                   CURLE_SSL_CIPHER.rawValue, CURLE_SSL_CACERT_BADFILE.rawValue, CURLE_SSL_ENGINE_NOTFOUND.rawValue,
                                   CURLE_SSL_ISSUER_ERROR.rawValue, CURLE_SSL_CRL_BADFILE.rawValue, CURLE_SSL_PINNEDPUBKEYNOTMATCH.rawValue,
                                   CURLE_SSL_INVALIDCERTSTATUS.rawValue, CURLE_SSL_SHUTDOWN_FAILED.rawValue]
}
