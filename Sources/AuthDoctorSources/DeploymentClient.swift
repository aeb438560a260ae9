import AuthDoctorCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Reads a live Convex deployment over HTTP, read-only: only `GET /version`, system queries through
/// `/api/query` and component queries through `/api/function`. Never a mutation, action, import, export
/// request or env write. Retries 429/503 and dropped connections with backoff; maps failures to messages
/// that say what to do. The key is sent as `Authorization: Convex <key>` and never appears in a message.
public final class DeploymentClient: @unchecked Sendable {
    public let base: URL
    let key: String
    let timeout: TimeInterval
    let maxAttempts = 4
    let retryBase: Double
    let session: URLSession
    /// Every request sent, as `METHOD /path [udf path]`, for tests and `--verbose`-style accounting.
    public private(set) var log: [String] = []
    let lock = NSLock()

    /// `AUTH_DOCTOR_HTTP_TIMEOUT_S` overrides the 30 s request timeout.
    public init(url: String, key: String,
                timeout: TimeInterval = Double(ProcessInfo.processInfo.environment["AUTH_DOCTOR_HTTP_TIMEOUT_S"] ?? "") ?? 30) throws(SourceError) {
        guard let u = URL(string: url.hasSuffix("/") ? String(url.dropLast()) : url), let scheme = u.scheme,
              ["http", "https"].contains(scheme), u.host != nil else {
            throw SourceError("\(url): not a deployment URL. Give the URL like https://happy-animal-123.convex.cloud (or http://127.0.0.1:3210 for a self-hosted backend).")
        }
        base = u
        self.key = key
        self.timeout = timeout
        retryBase = Double(ProcessInfo.processInfo.environment["AUTH_DOCTOR_RETRY_BASE_MS"] ?? "") .map { $0 / 1000 } ?? 0.25
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout * 2
        config.httpAdditionalHeaders = ["Convex-Client": "auth-doctor-\(toolVersion)"]
        session = URLSession(configuration: config)
    }

    final class Box: @unchecked Sendable {
        var data: Data?
        var response: HTTPURLResponse?
        var error: Error?
    }

    /// One HTTP exchange with retries.
    func send(_ method: String, _ path: String, body: Data?, label: String) throws(SourceError) -> (Int, Data) {
        var attempt = 0
        while true {
            attempt += 1
            var request = URLRequest(url: base.appendingPathComponent(path))
            request.httpMethod = method
            request.setValue("Convex \(key)", forHTTPHeaderField: "Authorization")
            if let body {
                request.httpBody = body
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            lock.lock()
            log.append("\(method) \(path)\(label.isEmpty ? "" : " \(label)")")
            lock.unlock()
            let box = Box()
            let done = DispatchSemaphore(value: 0)
            session.dataTask(with: request) { data, response, error in
                box.data = data
                box.response = response as? HTTPURLResponse
                box.error = error
                done.signal()
            }.resume()
            done.wait()
            let where_ = "\(base.absoluteString)\(path)"
            if let error = box.error as? URLError {
                let retryable: Set<URLError.Code> = [.networkConnectionLost, .timedOut, .cannotParseResponse, .badServerResponse, .zeroByteResource]
                if retryable.contains(error.code) && attempt < maxAttempts {
                    pause(attempt, retryAfter: nil)
                    continue
                }
                throw SourceError(DeploymentClient.describe(error, url: where_, host: base.host ?? "", attempts: attempt))
            } else if let error = box.error {
                throw SourceError("\(where_): \(error.localizedDescription)")
            }
            guard let response = box.response else { throw SourceError("\(where_): no HTTP response.") }
            let status = response.statusCode
            if (status == 429 || status == 503) && attempt < maxAttempts {
                pause(attempt, retryAfter: response.value(forHTTPHeaderField: "Retry-After").flatMap(Double.init))
                continue
            }
            return (status, box.data ?? Data())
        }
    }

    func pause(_ attempt: Int, retryAfter: Double?) {
        let backoff = retryBase * pow(2, Double(attempt - 1)) * Double.random(in: 0.75...1.25)
        Thread.sleep(forTimeInterval: min(retryAfter ?? backoff, 10))
    }

    static func describe(_ error: URLError, url: String, host: String, attempts: Int) -> String {
        switch error.code {
        case .cannotFindHost, .dnsLookupFailed:
            return "\(url): cannot resolve \(host) (DNS). Check the deployment URL (--url, CONVEX_URL)."
        case .cannotConnectToHost:
            return "\(url): connection refused. Is the deployment running? (self-hosted backends listen on port 3210)"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
             .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return "\(url): TLS error (\(error.localizedDescription)). Check the URL's scheme and the machine's CA certificates."
        case .timedOut:
            return "\(url): timed out \(attempts) time(s). The deployment is slow or unreachable; try again later."
        default:
            // On Linux, libcurl's TLS failures arrive with a generic code and OpenSSL's text.
            let text = error.localizedDescription
            if text.contains("SSL") || text.contains("TLS") || text.contains("certificate") {
                return "\(url): TLS error (\(text)). Check the URL's scheme (http:// for a local backend) and the machine's CA certificates."
            }
            return "\(url): \(text) (after \(attempts) attempt(s))."
        }
    }

    /// Maps an HTTP failure to a message that names the cause.
    func failure(_ status: Int, _ data: Data, path: String) -> SourceError {
        let body = (try? JSONParser.parse(data)) ?? .null
        let code = body["code"].stringValue ?? ""
        let where_ = "\(base.absoluteString)\(path)"
        switch (status, code) {
        case (401, _):
            return SourceError("\(where_): the key was rejected (401 \(code.isEmpty ? "Unauthorized" : code)). Use a deploy or admin key of this deployment ($CONVEX_DEPLOY_KEY, $CONVEX_SELF_HOSTED_ADMIN_KEY, $CONVEX_ADMIN_KEY or --admin-key-file).")
        case (403, "SystemIdentityRequired"):
            return SourceError("\(where_): 403 SystemIdentityRequired: the key is not an admin key (a user's Bearer JWT?). Use a deploy or admin key.")
        case (403, _):
            return SourceError("\(where_): the key is not allowed here (403 \(code.isEmpty ? "Forbidden" : code)). A dev key on a prod URL, or a key of another deployment?")
        case (404, _) where path == "/version":
            return SourceError("\(where_): 404. This does not look like a Convex deployment URL. Give the .convex.cloud URL (not .convex.site), or http://127.0.0.1:3210 for a self-hosted backend.")
        case (500...599, _):
            return SourceError("\(where_): the deployment answered HTTP \(status)\(status == 503 ? " \(maxAttempts) times" : ""). Try again later.")
        default:
            let message = body["message"].stringValue.map { ": \($0)" } ?? ""
            return SourceError("\(where_): HTTP \(status) \(code)\(message)")
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
        let (status, data) = try send("POST", endpoint, body: Data(JSONWriter.write(.map(body), pretty: false).utf8), label: path)
        guard status == 200 else { throw failure(status, data, path: endpoint) }
        let value: Value
        do { value = try JSONParser.parse(data) } catch {
            throw SourceError("\(base.absoluteString)\(endpoint): the answer is not JSON.")
        }
        if value["status"].stringValue == "success" { return .success(value["value"]) }
        return .failure(value["errorMessage"].stringValue ?? "unknown error")
    }

    /// A system query that must succeed.
    public func systemQuery(_ path: String, _ args: Value) throws(SourceError) -> Value {
        switch try call(endpoint: "/api/query", path: path, args: args) {
        case .success(let v): return v
        case .failure(let m) where m.contains("Could not find public function for '_system"):
            throw SourceError("\(base.absoluteString)/api/query: the key cannot call system queries (\(m)). Use a deploy or admin key, not a user token.")
        case .failure(let m): throw SourceError("\(base.absoluteString)/api/query \(path): \(m)")
        }
    }
}
