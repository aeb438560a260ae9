/// "Did you mean …?" for names a person typed: subcommands, config keys, rule ids.
public enum Suggest {
    /// The Levenshtein distance between two strings (by Unicode characters).
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The closest candidate within `maxDistance` edits (ignoring case), or nil.
    public static func nearest(_ word: String, in candidates: [String], maxDistance: Int = 2) -> String? {
        let w = word.lowercased()
        let scored = candidates.map { ($0, distance(w, $0.lowercased())) }.filter { $0.1 <= maxDistance }
        return scored.min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }

    /// " Did you mean 'x'?" or "".
    public static func didYouMean(_ word: String, in candidates: [String]) -> String {
        nearest(word, in: candidates).map { " Did you mean '\($0)'?" } ?? ""
    }
}
