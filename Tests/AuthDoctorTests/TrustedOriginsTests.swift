import AuthDoctorCore
import Testing

/// better-auth-facts-2.md §3.2, `matchesOriginPattern(url, pattern)`: (url, pattern, trusted?).
private let matchTable: [(url: String, pattern: String, trusted: Bool)] = [
    // Exact origins for http(s): a string comparison with `new URL(url).origin`.
    ("https://app.com", "https://app.com", true),
    ("https://app.com/dashboard?x=1", "https://app.com", true),
    ("https://App.COM", "https://app.com", true),
    ("https://app.com:443", "https://app.com", true),
    ("http://app.com:80", "http://app.com", true),
    ("https://app.com:8443", "https://app.com:8443", true),
    ("https://app.com", "https://app.com/", false),        // a trailing slash never matches
    ("https://app.com", "https://app.com/login", false),
    ("https://app.com", "https://App.com", false),         // the pattern is not lowercased
    ("https://app.com", "https://app.com:443", false),     // nor is the default port dropped from it
    ("https://app.com", " https://app.com", false),        // untrimmed entry from BETTER_AUTH_TRUSTED_ORIGINS
    ("http://app.com", "https://app.com", false),
    ("https://app.com", "app.com", false),
    ("app.com", "app.com", false),                          // no scheme: no origin, nothing matches
    ("/dashboard", "https://app.com", false),               // relative paths only for callback checks
    // Wildcards with a scheme match the whole origin; `*` crosses dots, colons and slashes.
    ("https://my-app-git-feat-acme.vercel.app", "https://*.vercel.app", true),
    ("https://a.b.vercel.app", "https://*.vercel.app", true),
    ("https://vercel.app", "https://*.vercel.app", false),
    ("http://x.vercel.app", "https://*.vercel.app", false),
    ("https://evil.com/x.vercel.app", "https://*.vercel.app", false),  // matched against the origin, not the URL
    ("https://x.vercel.app", "https://*.vercel.app/", false),
    ("http://localhost:3000", "http://localhost:*", true),
    ("https://evil.com:1/.app.com", "https://*app.com", false),
    ("https://app.com", "https://app.co?", true),           // `?` is exactly one character
    ("https://app.co", "https://app.co?", false),
    // Wildcards without a scheme match the host (with its port).
    ("https://x.vercel.app", "*.vercel.app", true),
    ("http://x.vercel.app", "*.vercel.app", true),
    ("https://vercel.app", "*.vercel.app", false),
    ("https://app.com:8443", "*.com", false),               // the host includes the port
    ("http://localhost:5173", "localhost:*", true),
    ("https://anything.example", "*", true),
    // Other schemes: a prefix match, and a bare `*` does not cover them (their host is empty).
    ("myapp://", "myapp://", true),
    ("myapp://callback/done", "myapp://", true),
    ("exp://192.168.1.20:8081", "exp://", true),
    ("myapp://", " myapp://", false),
    ("myapp://", "otherapp://", false),
    ("myapp://", "*", false),
    ("myapp://", "myapp://*", true),
]

@Suite struct TrustedOriginMatching {
    @Test(arguments: 0..<matchTable.count)
    func matchesLikeBetterAuth(_ i: Int) {
        let c = matchTable[i]
        #expect(TrustedOrigins.matches(url: c.url, pattern: c.pattern) == c.trusted, "\(c.url) vs \(c.pattern)")
    }

    @Test func originsAreWhatTheBrowserSends() {
        #expect(TrustedOrigins.origin(of: "https://App.com:443/x/y?z#w") == "https://app.com")
        #expect(TrustedOrigins.origin(of: "http://user:pw@localhost:3000/") == "http://localhost:3000")
        #expect(TrustedOrigins.origin(of: "http://[::1]:3000") == "http://[::1]:3000")
        #expect(TrustedOrigins.origin(of: "myapp://") == nil)
        #expect(TrustedOrigins.origin(of: "app.com") == nil)
        #expect(TrustedOrigins.origin(of: "https://") == nil)
        #expect(TrustedOrigins.origin(of: "https://app.com:99999") == nil)
        #expect(TrustedOrigins.host(of: "myapp://") == "")
        #expect(TrustedOrigins.host(of: "https://app.com:8443/x") == "app.com:8443")
    }
}

@Suite struct TrustedOriginList {
    @Test func theSiteURLOriginAndTheUntrimmedEnvEntries() {
        let list = TrustedOrigins(convexEnv: [
            "SITE_URL": .string("https://app.com/"),
            "BETTER_AUTH_TRUSTED_ORIGINS": .string("https://a.com, https://b.com,,myapp://"),
        ])
        #expect(list.entries.map(\.pattern) == ["https://app.com", "https://a.com", " https://b.com", "myapp://"])
        #expect(list.match("https://app.com")?.source == .baseURL(variable: "SITE_URL"))
        #expect(list.trusts("https://a.com"))
        #expect(!list.trusts("https://b.com"))
        #expect(list.match("myapp://")?.source == .trustedOriginsEnv(index: 3))
        #expect(list.warnings.map(\.description)
                == [#"entry 2 of BETTER_AUTH_TRUSTED_ORIGINS " https://b.com" never matches: it has spaces around it (BETTER_AUTH_TRUSTED_ORIGINS is split on commas and not trimmed)"#])
    }

    static let lint: [(entry: String, says: String?)] = [
        ("https://app.com", nil),
        ("https://app.com/", "a trailing slash never matches; write https://app.com"),
        ("https://App.com", "Better Auth compares exact origins (scheme, lowercase host, port only when not the default); write https://app.com"),
        ("https://app.com:443", "write https://app.com"),
        ("https://app.com/login", "write https://app.com"),
        ("app.com", "it has no scheme; write https://app.com"),
        (" https://app.com", "spaces around it"),
        ("https://*.vercel.app", nil),
        ("https://*.vercel.app/", "never end with a slash"),
        ("*.vercel.app", nil),
        ("myapp://", nil),
        ("exp://", nil),
    ]

    @Test(arguments: 0..<lint.count)
    func entriesThatCanNeverMatchAreNamed(_ i: Int) {
        let c = Self.lint[i]
        let why = TrustedOrigins.whyNeverMatches(c.entry)
        if let says = c.says {
            #expect(why?.contains(says) == true, "\(c.entry): \(why ?? "nil")")
        } else {
            #expect(why == nil, "\(c.entry): \(why ?? "nil")")
        }
    }

    @Test func aBareStarIsFlaggedAndABadSiteURLIsNamed() {
        let list = TrustedOrigins(baseURLs: [("SITE_URL", "app.com")], trustedOriginsEnv: "*")
        #expect(list.trusts("https://anything.example"))
        #expect(list.warnings == [.invalidBaseURL(variable: "SITE_URL"),
                                  .bareWildcard(TrustedOrigin(pattern: "*", source: .trustedOriginsEnv(index: 0)))])
        #expect(list.warnings[1].description.contains("bare \"*\""))
    }
}

@Suite struct ServedOrigins {
    @Test func siteAndVercelPreviewURLs() {
        let hosting: [String: Value] = [
            "NEXT_PUBLIC_SITE_URL": .string("https://app.com"),
            "VERCEL_ENV": .string("preview"),
            "VERCEL_URL": .string("app-abc123-acme.vercel.app"),
            "VERCEL_BRANCH_URL": .string("app-git-feature-acme.vercel.app"),
        ]
        let served = HostingOrigins(hostingEnv: hosting, trustedOriginsEnv: nil)
        #expect(served.served == [
            ServedOrigin(origin: "https://app.com", variable: "NEXT_PUBLIC_SITE_URL", kind: .site),
            ServedOrigin(origin: "https://app-abc123-acme.vercel.app", variable: "VERCEL_URL", kind: .preview),
            ServedOrigin(origin: "https://app-git-feature-acme.vercel.app", variable: "VERCEL_BRANCH_URL", kind: .preview),
        ])
        #expect(!served.isNativeApp)
        var production = hosting
        production["VERCEL_ENV"] = .string("production")
        #expect(HostingOrigins(hostingEnv: production, trustedOriginsEnv: nil).served.map(\.kind) == [.site])
    }

    @Test func anExpoAppTakesItsSchemeFromTheTrustedOrigins() {
        let hosting: [String: Value] = ["EXPO_PUBLIC_CONVEX_URL": .string("https://x.convex.cloud")]
        let withScheme = HostingOrigins(hostingEnv: hosting, trustedOriginsEnv: "https://app.com, myapp://")
        #expect(withScheme.isNativeApp)
        #expect(withScheme.served == [ServedOrigin(origin: "myapp://", variable: "BETTER_AUTH_TRUSTED_ORIGINS", kind: .native)])
        #expect(!withScheme.nativeSchemeUnknown)
        let without = HostingOrigins(hostingEnv: hosting, trustedOriginsEnv: "https://app.com")
        #expect(without.served.isEmpty)
        #expect(without.nativeSchemeUnknown)
        let schemeSite = HostingOrigins(hostingEnv: ["EXPO_PUBLIC_SITE_URL": .string("myapp://")], trustedOriginsEnv: nil)
        #expect(schemeSite.served == [ServedOrigin(origin: "myapp://", variable: "EXPO_PUBLIC_SITE_URL", kind: .native)])
    }
}

@Suite struct TrustedOriginsStep {
    static let hosting: [String: Value] = [
        "NEXT_PUBLIC_SITE_URL": .string("https://app.com"), "VERCEL_ENV": .string("preview"),
        "VERCEL_BRANCH_URL": .string("app-git-feature-acme.vercel.app"),
    ]

    @Test func previewsNeedAWildcardOrAnEntry() {
        let bare = TrustedOriginsCheck(convexEnv: ["SITE_URL": .string("https://app.com")], hostingEnv: Self.hosting)
        #expect(bare.untrusted.map(\.origin) == ["https://app-git-feature-acme.vercel.app"])
        #expect(bare.facts["untrusted"] == .list([.string("https://app-git-feature-acme.vercel.app")]))
        let withWildcard = TrustedOriginsCheck(convexEnv: [
            "SITE_URL": .string("https://app.com"), "BETTER_AUTH_TRUSTED_ORIGINS": .string("https://*-acme.vercel.app"),
        ], hostingEnv: Self.hosting)
        #expect(withWildcard.untrusted.isEmpty)
        #expect(withWildcard.results.map { $0.trustedBy?.source } == [.baseURL(variable: "SITE_URL"), .trustedOriginsEnv(index: 0)])
        #expect(withWildcard.facts["bareWildcard"] == .bool(false))
    }

    @Test func anExpoAppWithoutSiteURLIsCheckedByItsScheme() {
        let hosting: [String: Value] = ["EXPO_PUBLIC_CONVEX_URL": .string("https://x.convex.cloud")]
        let trusted = TrustedOriginsCheck(convexEnv: ["BETTER_AUTH_TRUSTED_ORIGINS": .string("myapp://")], hostingEnv: hosting)
        #expect(trusted.untrusted.isEmpty)
        #expect(trusted.facts["nativeSchemeUnknown"] == .bool(false))
        // " myapp://" after a comma is never trusted: the app's origin is "myapp://".
        let untrimmed = TrustedOriginsCheck(convexEnv: ["BETTER_AUTH_TRUSTED_ORIGINS": .string("https://app.com, myapp://")], hostingEnv: hosting)
        #expect(untrimmed.untrusted.map(\.origin) == ["myapp://"])
        let none = TrustedOriginsCheck(convexEnv: [:], hostingEnv: hosting)
        #expect(none.facts["nativeSchemeUnknown"] == .bool(true))
    }

    @Test func httpAndHttpsMixesAreFoundOutsideLocalhost() {
        let mix = SchemeMix.detect(convexEnv: ["SITE_URL": .string("http://app.com"), "CONVEX_SITE_URL": .string("https://x.convex.site")],
                                   hostingEnv: ["NEXT_PUBLIC_SITE_URL": .string("https://app.com")])
        #expect(mix == SchemeMix(http: ["SITE_URL (Convex)"], https: ["NEXT_PUBLIC_SITE_URL (hosting)", "CONVEX_SITE_URL (Convex)"]))
        #expect(mix?.description == "SITE_URL (Convex) uses http but NEXT_PUBLIC_SITE_URL (hosting), CONVEX_SITE_URL (Convex) use https")
        // The documented dev setup: http://localhost beside an https Convex site.
        #expect(SchemeMix.detect(convexEnv: ["SITE_URL": .string("http://localhost:3000"), "CONVEX_SITE_URL": .string("https://x.convex.site")],
                                 hostingEnv: ["NEXT_PUBLIC_CONVEX_SITE_URL": .string("https://x.convex.site")]) == nil)
        #expect(SchemeMix.detect(convexEnv: ["SITE_URL": .string("https://app.com")],
                                 hostingEnv: ["VITE_CONVEX_SITE_URL": .string("https://x.convex.site")]) == nil)
        let hostingOnly = SchemeMix.detect(convexEnv: ["SITE_URL": .string("https://app.com")],
                                           hostingEnv: ["VITE_CONVEX_SITE_URL": .string("http://convex.internal:3211")])
        #expect(hostingOnly?.http == ["VITE_CONVEX_SITE_URL (hosting)"])
    }
}
