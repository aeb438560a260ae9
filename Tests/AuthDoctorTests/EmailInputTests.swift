import AuthDoctorCore
import Foundation
import Testing

@Suite struct EmailPasteCleaning {
    /// (as pasted, cleaned, what was removed)
    static let table: [(input: String, value: String, removed: [String])] = [
        ("ada@example.com", "ada@example.com", []),
        ("<ada@example.com>", "ada@example.com", ["angle brackets"]),
        ("ada@example.com,", "ada@example.com", ["trailing punctuation"]),
        ("ada@example.com.;", "ada@example.com", ["trailing punctuation"]),
        ("mailto:ada@example.com", "ada@example.com", ["mailto:"]),
        ("MAILTO:Ada@Example.com?subject=Login", "Ada@Example.com", ["mailto:"]),
        ("\"Ada\" <ada@example.com>", "ada@example.com", ["angle brackets"]),
        ("Ada Lovelace <ada@example.com>;", "ada@example.com", ["trailing punctuation", "angle brackets"]),
        ("<mailto:ada@example.com>", "ada@example.com", ["angle brackets", "mailto:"]),
        ("  ada@example.com\n", "ada@example.com", ["surrounding whitespace"]),
        ("\u{200B}ada@example.com\u{00A0}", "ada@example.com", ["surrounding whitespace"]),
        ("\"ada@example.com\"", "ada@example.com", ["quotes"]),
        ("'ada@example.com'", "ada@example.com", ["quotes"]),
        ("\u{201C}ada@example.com\u{201D},", "ada@example.com", ["quotes", "trailing punctuation"]),
        (" \"ada@example.com, ", "ada@example.com", ["surrounding whitespace", "quotes", "trailing punctuation"]),
        ("Ada@Example.COM", "Ada@Example.COM", []),                 // case is kept: normalizing comes later
        ("o'brien@example.ie", "o'brien@example.ie", []),
        ("'quoted@example.com", "'quoted@example.com", []),         // a leading ' is a valid local-part character
        ("+1 (555) 123-4567", "+1 (555) 123-4567", []),
        ("JOSÉ@EXAMPLE.COM", "JOSÉ@EXAMPLE.COM", []),
    ]

    @Test(arguments: 0..<table.count)
    func cleansWhatAPasteBrings(_ i: Int) {
        let c = Self.table[i]
        let cleaned = EmailInput.clean(c.input)
        #expect(cleaned.value == c.value, "\(c.input.debugDescription)")
        #expect(cleaned.changed == (c.value != c.input))
        #expect(cleaned.original == c.input)
        #expect(cleaned.removed == c.removed, "\(c.input.debugDescription): \(cleaned.removed)")
    }

    @Test func cleanedPastesAreValidAndPhonesAndAccentsAreNot() {
        for input in ["<ada@example.com>", "ada@example.com,", "mailto:ada@example.com", "\"Ada\" <ada@example.com>"] {
            #expect(!EmailInput.isValid(input), "\(input) is invalid for Better Auth as pasted")
            #expect(EmailInput.isValid(EmailInput.clean(input).value), "\(input)")
        }
        #expect(!EmailInput.isValid(EmailInput.clean("+1 (555) 123-4567").value))
        #expect(!EmailInput.isValid(EmailInput.clean("JOSÉ@EXAMPLE.COM").value))
    }
}

@Suite struct EmailValidation {
    /// better-auth-facts-2.md §5, checked there with Node and Python.
    static let valid = ["john@example.com", "John@Example.COM", "o'brien@example.ie", "a@b.co", "x+tag@sub.example.co",
                        "_@x-.io", "a-b_c+d@1host.example.museum", "'q@example.com"]
    static let invalid = ["<john@example.com>", "john@example.com,", "john@example.com;", "john@example.com ", " john@example.com",
                          "john@example.com\n", "john..doe@x.com", ".john@x.com", "john.@x.com", "jöhn@x.com", "john@localhost",
                          "john@x.c", "\"john\"@x.com", "user%x@x.com", "john@exa_mple.com", "john@-x.com", "john@[127.0.0.1]",
                          "john@127.0.0.1", "john'@x.com", "a@b@c.com", "@x.com", "john@", "john@.x.com", "john@x..com",
                          "john@x.com.", "john@x.co1", "+1 555 123 4567", "JOSÉ@EXAMPLE.COM", ""]

    @Test func theDocumentedTable() {
        for e in Self.valid { #expect(EmailInput.isValid(e), "\(e.debugDescription) should be valid") }
        for e in Self.invalid { #expect(!EmailInput.isValid(e), "\(e.debugDescription) should be invalid") }
    }

    /// The hand-written matcher agrees with zod's regex itself (JavaScript `$` is ICU's `\z`) on generated inputs.
    @Test func agreesWithZodsRegexOnGeneratedInputs() throws {
        let pattern = #"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}\z"#
        let regex = try NSRegularExpression(pattern: pattern)
        func zod(_ s: String) -> Bool {
            regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
        }
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ab.Z09_'+-@.x.-\"% \nöé")
        let seeds = Self.valid + Self.invalid
        var agreed = 0, validSeen = 0
        for i in 0..<20_000 {
            var s: [Character]
            if i % 2 == 0 {
                s = (0..<Int.random(in: 1...14, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            } else {
                s = Array(seeds.randomElement(using: &rng)!)
                for _ in 0..<Int.random(in: 1...2, using: &rng) {
                    let c = alphabet.randomElement(using: &rng)!
                    if s.isEmpty || Bool.random(using: &rng) {
                        s.insert(c, at: Int.random(in: 0...s.count, using: &rng))
                    } else {
                        s[Int.random(in: 0..<s.count, using: &rng)] = c
                    }
                }
            }
            let text = String(s)
            let expected = zod(text)
            #expect(EmailInput.isValid(text) == expected, "\(text.debugDescription): zod says \(expected)")
            agreed += 1
            if expected { validSeen += 1 }
        }
        #expect(agreed == 20_000)
        #expect(validSeen > 100, "the generator must reach valid addresses too")
    }
}

@Suite struct EmailDidYouMean {
    static let stored = ["Ada@Example.com", " ada@example.com", "ada@exmaple.com", "ada@gmail.com", "bob@example.com",
                         "ad@example.com", "zed@other.org", "ada@example.com"]

    @Test func nearestFirstAtMostThree() {
        #expect(EmailInput.didYouMean("ada@example.com", among: Self.stored)
                == [" ada@example.com", "Ada@Example.com", "ad@example.com"])
        #expect(EmailInput.didYouMean("ada@example.com", among: Self.stored, limit: 10)
                == [" ada@example.com", "Ada@Example.com", "ad@example.com", "ada@exmaple.com", "ada@gmail.com"])
    }

    @Test func typosAndOtherDomains() {
        #expect(EmailInput.didYouMean("ada@exampel.com", among: ["ada@example.com", "eve@example.com"]) == ["ada@example.com"])
        // What Better Auth's lookup finds itself (the lowercased input) is not a suggestion; its variants are.
        #expect(EmailInput.didYouMean("ADA@EXAMPLE.COM ", among: ["ada@example.com"]).isEmpty)
        #expect(EmailInput.didYouMean("ada@example.com", among: ["ADA@example.com "]) == ["ADA@example.com "])
        // Edit distance 2 ("ada.l") comes before the same local part at another domain.
        #expect(EmailInput.didYouMean("ada@company.io", among: ["ada@gmail.com", "ada.l@company.io", "bob@company.io"])
                == ["ada.l@company.io", "ada@gmail.com"])
        #expect(EmailInput.didYouMean("someone@nowhere.net", among: Self.stored).isEmpty)
        #expect(EmailInput.didYouMean("ada@example.com", among: [String]()).isEmpty)
    }

    @Test func aLargeTableIsSearchedQuickly() {
        let rows = (0..<100_000).map { "user\($0)@example\($0 % 97).com" } + ["ada@example.org"]
        let clock = ContinuousClock()
        var found: [String] = []
        let elapsed = clock.measure { found = EmailInput.didYouMean("ada@example.com", among: rows) }
        #expect(found == ["ada@example.org"])
        #expect(elapsed < .seconds(5), "\(elapsed)")
    }
}
