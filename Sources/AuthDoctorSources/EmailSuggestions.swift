import AuthDoctorCore
import Foundation

extension ExportAudit {
    /// Up to `limit` stored emails of the Better Auth `user` table that the operator may have meant (DESIGN §13.1),
    /// reading every row once through the field scanner, keeping only the best few in memory.
    static func emailSuggestions(near email: String, reader: TableReader, config: Config, limit: Int = 3) throws(SourceError) -> [String] {
        let audit = ExportAudit(tables: reader, config: config, info: { SourceInfo(kind: .none, location: "") }, now: Date())
        var best: [String] = []
        var batch: [String] = []
        func flush() {
            best = EmailInput.didYouMean(email, among: best + batch, limit: limit)
            batch.removeAll(keepingCapacity: true)
        }
        try audit.readTable(config.exportPath("user"), fields: [config.storedField("user", "email")]) { line, slots, _ in
            if let s = ExportAudit.withString(line, slots[0], { p, n in String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) }) {
                batch.append(s)
                if batch.count >= 4096 { flush() }
            }
        }
        flush()
        return best
    }
}

extension ExportSource {
    /// "Did you mean": nearest stored emails when no Better Auth user has this one.
    public func emailSuggestions(for normalizedEmail: String) throws -> [String] {
        try ExportAudit.emailSuggestions(near: normalizedEmail, reader: archive, config: config)
    }
}
