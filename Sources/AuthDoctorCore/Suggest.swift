/// "Did you mean …?" for names a person typed: subcommands, config keys, rule ids, stored emails.
public enum Suggest {
    /// Levenshtein distance when it is at most `limit`, else nil; work bounded by the band of width 2·limit+1.
    public static func boundedDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], limit: Int) -> Int? {
        if abs(a.count - b.count) > limit { return nil }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        let big = limit + 1
        var prev = [Int](repeating: big, count: b.count + 1)
        var cur = prev
        for j in 0...min(b.count, limit) { prev[j] = j }
        for i in 1...a.count {
            let lo = max(1, i - limit), hi = min(b.count, i + limit)
            cur[0] = i <= limit ? i : big
            if lo > 1 { cur[lo - 1] = big }
            var rowMin = cur[0]
            if lo <= hi {
                for j in lo...hi {
                    let cost = a[i - 1] == b[j - 1] ? 0 : 1
                    cur[j] = min(prev[j - 1] + cost, prev[j] + 1, cur[j - 1] + 1, big)
                    rowMin = min(rowMin, cur[j])
                }
            }
            if hi < b.count { cur[hi + 1] = big }
            if rowMin > limit { return nil }
            swap(&prev, &cur)
        }
        return prev[b.count] <= limit ? prev[b.count] : nil
    }

    /// The closest candidate within `maxDistance` edits (ignoring case), or nil.
    public static func nearest(_ word: String, in candidates: [String], maxDistance: Int = 2) -> String? {
        let w = Array(word.lowercased().unicodeScalars)
        let scored = candidates.compactMap { c in boundedDistance(w, Array(c.lowercased().unicodeScalars), limit: maxDistance).map { (c, $0) } }
        return scored.min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }

    /// " Did you mean 'x'?" or "".
    public static func didYouMean(_ word: String, in candidates: [String]) -> String {
        nearest(word, in: candidates).map { " Did you mean '\($0)'?" } ?? ""
    }
}
