import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket on 127.0.0.1 (a free port) for the test servers: each accepted connection is handed to
/// `serve` on a thread of its own, as a real server serves them, so a stalled or slow connection (a takeover that
/// drips, a client that gave up) delays no other. `serve` closes the connection.
///
/// `stop()` only shuts the socket down; the accept thread closes it once it is out of `accept`. A stopped server's
/// thread therefore never accepts on a descriptor number that a later server (of a suite running alongside) reuses.
final class LocalListener: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var done = false

    init(serve: @escaping @Sendable (Int32) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw NSError(domain: "LocalListener", code: 1)
        }
        var got = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &got) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: got.sin_port))
        Thread { [self] in
            while true {
                let conn = accept(fd, nil, nil)
                if conn >= 0 {
                    Thread { serve(conn) }.start()
                } else if errno != EINTR && errno != ECONNABORTED {
                    break
                }
            }
            lock.lock()
            done = true
            close(fd)
            lock.unlock()
        }.start()
    }

    /// No new connection is accepted; the ones being served finish.
    func stop() {
        lock.lock()
        if !done { shutdown(fd, Int32(SHUT_RDWR)) }
        lock.unlock()
    }
}
