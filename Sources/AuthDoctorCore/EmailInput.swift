import Foundation

/// The email as the operator pasted it, after cleaning (DESIGN §13.1).
public struct CleanedEmail: Sendable, Equatable {
    /// What remains: the value the checklist uses (`input.email`).
    public let value: String
    /// The input exactly as given (`input.cleanedFrom` when `changed`).
    public let original: String
    /// What was removed, in the order it was found ("surrounding whitespace", "quotes", "mailto:", …).
    public let removed: [String]

    /// True when cleaning changed the input.
    public var changed: Bool { value != original }
}

/// Cleaning, validating and "did you mean" for the email the operator gives (DESIGN §13.1, better-auth-facts-2.md §5).
public enum EmailInput {
    /// Removes what a paste brings along, repeatedly until nothing changes: surrounding whitespace (and invisible
    /// zero-width characters), surrounding quotes, a `mailto:` prefix (and its `?subject=…`), `Name <addr>` and
    /// `<addr>` brackets, and trailing `,` `;` `.`. Case is kept: normalizing is a separate step.
    public static func clean(_ input: String) -> CleanedEmail {
        var s = Substring(input)
        var removed: [String] = []
        func note(_ what: String) { if !removed.contains(what) { removed.append(what) } }
        for _ in 0..<16 {
            let before = s
            let trimmed = trimInvisible(s)
            if trimmed != s { s = trimmed; note("surrounding whitespace") }
            if s.lowercased().hasPrefix("mailto:") {
                s = s.dropFirst(7)
                if let q = s.firstIndex(of: "?") { s = s[..<q] }
                note("mailto:")
            }
            if s.last == ">", let open = s.lastIndex(of: "<") {
                s = s[s.index(after: open)..<s.index(before: s.endIndex)]
                note("angle brackets")
            }
            if let first = s.first, let last = s.last, s.count >= 2, quotePairs[first] == last {
                s = s.dropFirst().dropLast(); note("quotes")
            } else if let last = s.last, quotePairs.values.contains(last) || quotePairs.keys.contains(last) {
                s = s.dropLast(); note("quotes")
            } else if let first = s.first, first != "'", quotePairs.keys.contains(first) {
                s = s.dropFirst(); note("quotes")
            }
            while let last = s.last, ",;.".contains(last) {
                s = s.dropLast(); note("trailing punctuation")
            }
            if s == before { break }
        }
        return CleanedEmail(value: String(s), original: input, removed: removed)
    }

    /// Opening quote → closing quote, straight and typographic.
    static let quotePairs: [Character: Character] = ["\"": "\"", "'": "'", "`": "`", "\u{201C}": "\u{201D}", "\u{2018}": "\u{2019}",
                                                     "\u{00AB}": "\u{00BB}"]

    static func trimInvisible(_ s: Substring) -> Substring {
        func invisible(_ c: Character) -> Bool {
            c.isWhitespace || c.unicodeScalars.allSatisfy { [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF].contains($0.value) }
        }
        var s = s
        while let f = s.first, invisible(f) { s = s.dropFirst() }
        while let l = s.last, invisible(l) { s = s.dropLast() }
        return s
    }

    /// Better Auth's email rule: zod's pattern
    /// `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`
    /// with JavaScript's semantics (`$` only at the very end), applied to the string as given: no trim, no
    /// lowercasing, ASCII only.
    public static func isValid(_ email: String) -> Bool {
        let u = Array(email.utf8)
        guard let at = u.firstIndex(of: UInt8(ascii: "@")), u.lastIndex(of: UInt8(ascii: "@")) == at else { return false }
        let local = u[..<at], domain = u[(at + 1)...]
        func isAlnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
        func isAlpha(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
        let dot = UInt8(ascii: "."), hyphen = UInt8(ascii: "-")
        // Local part: no leading dot, characters of [A-Za-z0-9_'+\-.], ending in [A-Za-z0-9_+-].
        guard let lastLocal = local.last, local.first != dot,
              local.allSatisfy({ isAlnum($0) || "_'+-.".utf8.contains($0) }),
              isAlnum(lastLocal) || "_+-".utf8.contains(lastLocal) else { return false }
        // No ".." anywhere (the domain cannot have one either; checked here for the whole string).
        guard !zip(u, u.dropFirst()).contains(where: { $0 == dot && $1 == dot }) else { return false }
        // Domain: labels [A-Za-z0-9][A-Za-z0-9-]* each followed by a dot, then a TLD of two or more letters.
        let labels = domain.split(separator: dot, omittingEmptySubsequences: false)
        guard labels.count >= 2, let tld = labels.last, tld.count >= 2, tld.allSatisfy(isAlpha) else { return false }
        return labels.dropLast().allSatisfy { label in
            guard let first = label.first, isAlnum(first) else { return false }
            return label.allSatisfy { isAlnum($0) || $0 == hyphen }
        }
    }

    /// Up to `limit` stored emails the operator may have meant (DESIGN §13.1), nearest first: case and whitespace
    /// variants of `email`, then emails within edit distance 2 (closest first), then the same local part at another
    /// domain. Ties are in string order; the email itself (exactly as Better Auth would look it up) is left out.
    public static func didYouMean<S: Sequence>(_ email: String, among stored: S, limit: Int = 3) -> [String] where S.Element == String {
        let target = Email.normalize(email)
        let targetScalars = Array(target.unicodeScalars)
        let targetLocal = target.split(separator: "@", maxSplits: 1).first.map(String.init) ?? target
        var best: [String: (rank: Int, distance: Int)] = [:]
        for s in stored where s != target {
            let n = Email.normalize(s)
            let candidate: (rank: Int, distance: Int)
            if n == target {
                candidate = (0, 0)
            } else if let d = Suggest.boundedDistance(Array(n.unicodeScalars), targetScalars, limit: 2) {
                candidate = (1, d)
            } else if n.contains("@"), n.split(separator: "@", maxSplits: 1).first.map(String.init) == targetLocal {
                candidate = (2, 0)
            } else {
                continue
            }
            if let old = best[s], (old.rank, old.distance) <= (candidate.rank, candidate.distance) { continue }
            best[s] = candidate
        }
        return best.sorted { a, b in
            (a.value.rank, a.value.distance, a.key) < (b.value.rank, b.value.distance, b.key)
        }.prefix(max(0, limit)).map(\.key)
    }
}
