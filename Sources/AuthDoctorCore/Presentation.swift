import Foundation

/// How a piece of data (a stored value, an env value, a file name) is made safe to show, applied where the data
/// lands in the output — a template hole, an evidence value, a note, an example — never over the finished text.
/// Text the tool or a rule file wrote is never changed, so masking cannot reveal a secret by hiding a common
/// word, and JSON stays valid.
public struct DataNet: Sendable {
    /// Secrets the run loaded, longest first. Shorter ones are not searched for: they would mask ordinary
    /// words, and a secret that short is already a finding of its env rule.
    let secrets: [String]
    /// Names of the rows looked at (personal data; emails are masked by pattern).
    let names: [String]
    /// The email being diagnosed, normalized: a fix shows `<the user's email>` for it.
    let subjectEmail: String?

    public static let minimumSecretLength = 8
    public static let none = DataNet(secrets: [], personalData: [])

    public init(secrets: Set<String>, personalData: Set<String>, subjectEmail: String? = nil) {
        self.secrets = secrets.filter { $0.count >= DataNet.minimumSecretLength }.sorted { ($0.count, $0) > ($1.count, $1) }
        self.names = personalData.filter { $0.count >= 2 && !$0.contains("@") }.sorted { ($0.count, $0) > ($1.count, $1) }
        self.subjectEmail = subjectEmail
    }

    /// A data value as every format shows it: any loaded secret masked, control characters escaped.
    public func plain(_ s: String) -> String {
        Sanitize.inline(maskSecrets(s))
    }

    /// What a template hole prints (its data was escaped when the display facts were made): secrets masked.
    public func hole(_ s: String) -> String { maskSecrets(s) }

    /// A hole in a message of a masked format: personal data masked too (`j***@example.com`, `J***`).
    public func maskedHole(_ s: String) -> String { maskPersonal(maskSecrets(s)) }

    /// A hole in a fix of a masked format: personal data replaced by explicit placeholders, since a masked value
    /// copied into a command would write `j***@example.com` into a record.
    public func placeholderHole(_ s: String) -> String {
        var out = maskSecrets(s)
        for n in names where out.contains(n) { out = out.replacingOccurrences(of: n, with: "<the user's name>") }
        return Redaction.replaceEmails(out) { email in
            Email.normalize(email) == subjectEmail ? "<the user's email>" : "<email>"
        }
    }

    /// The same, with personal data masked (`j***@example.com`, `J***`): for prose in masked formats.
    public func masked(_ s: String) -> String { maskPersonal(plain(s)) }

    func maskSecrets(_ s: String) -> String {
        var out = s
        for secret in secrets where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return out
    }

    /// Masks secrets (and, when asked, personal data) in every string of a value, keeping its structure.
    public func value(_ v: Value, maskPII: Bool) -> Value {
        switch v {
        case .string(let s): return .string(maskPII ? maskPersonal(maskSecrets(s)) : maskSecrets(s))
        case .list(let items): return .list(items.map { value($0, maskPII: maskPII) })
        case .map(let m): return .map(m.mapValues { value($0, maskPII: maskPII) })
        default: return v
        }
    }

    /// Personal data masked (no escaping): idempotent, for text that was already escaped.
    public func maskPersonal(_ s: String) -> String { Redaction.maskEmails(maskNames(s)) }

    func maskNames(_ s: String) -> String {
        var out = s
        for n in names where out.contains(n) { out = out.replacingOccurrences(of: n, with: Redaction.maskName(n)) }
        return out
    }

    /// Prose the tool wrote around data (notes, errors): secrets masked and controls escaped, personal data
    /// masked when asked.
    public func prose(_ s: String, maskPII: Bool) -> String {
        maskPII ? masked(s) : plain(s)
    }
}

extension Value {
    /// The value as templates show it: control characters in every string escaped (`\n`, `\x1b`), so stored data
    /// cannot draw on the terminal or start a line; a rule's own line breaks are kept. Predicates never see this.
    public var forDisplay: Value {
        switch self {
        case .string(let s): return .string(Sanitize.inline(s))
        case .list(let items): return .list(items.map(\.forDisplay))
        case .map(let m):
            var out: [String: Value] = [:]
            for (k, v) in m { out[Sanitize.inline(k)] = v.forDisplay }
            return .map(out)
        default: return self
        }
    }
}

/// Control characters in data are shown, never obeyed: a stored `ESC[2J`, an OSC 52 clipboard write or a newline
/// that would start a `::error::` line in CI prints as visible escapes.
public enum Sanitize {
    public static func inline(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: needsEscape) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            guard needsEscape(u) else { out.append(u); continue }
            let text: String
            switch u {
            case "\n": text = "\\n"
            case "\r": text = "\\r"
            case "\t": text = "\\t"
            default: text = u.value <= 0xFF ? String(format: "\\x%02x", u.value) : String(format: "\\u{%04x}", u.value)
            }
            out.append(contentsOf: text.unicodeScalars)
        }
        return String(out)
    }

    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        return v < 0x20 || v == 0x7F || (v >= 0x80 && v <= 0x9F) || v == 0x2028 || v == 0x2029
            || (v >= 0x202A && v <= 0x202E) || (v >= 0x2066 && v <= 0x2069)
    }
}

/// Masking of personal data.
public enum Redaction {
    public static func maskName(_ name: String) -> String {
        guard let first = name.first else { return name }
        return "\(first)***"
    }

    // Unicode letters and digits on both sides: `josé@example.com` is personal data too.
    static let emailPattern = try? NSRegularExpression(
        pattern: "([\\p{L}\\p{N}._%+\\-])[\\p{L}\\p{N}._%+\\-]*@([\\p{L}\\p{N}.\\-]+\\.[\\p{L}]{2,})")

    /// `john@example.com` → `j***@example.com`.
    public static func maskEmails(_ text: String) -> String {
        guard let re = emailPattern, text.contains("@") else { return text }
        return re.stringByReplacingMatches(in: text, range: NSRange(location: 0, length: (text as NSString).length),
                                           withTemplate: "$1***@$2")
    }

    /// Every email in `text` replaced by what `with` gives for it.
    public static func replaceEmails(_ text: String, with replacement: (String) -> String) -> String {
        guard let re = emailPattern, text.contains("@") else { return text }
        let ns = text as NSString
        var out = ""
        var last = 0
        for m in re.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            out += ns.substring(with: NSRange(location: last, length: m.range.location - last))
            out += replacement(ns.substring(with: m.range))
            last = m.range.location + m.range.length
        }
        return out + ns.substring(from: last)
    }
}

extension String {
    /// The text without the newlines at its end.
    public var trimmingTrailingNewlines: String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
