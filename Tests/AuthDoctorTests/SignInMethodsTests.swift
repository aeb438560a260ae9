import AuthDoctorCore
import Testing

private func row(_ fields: [String: Value]) -> Value { .map(fields) }

private let scrypt = "0123456789abcdef0123456789abcdef:" + String(repeating: "ab", count: 64)

private func user(_ extra: [String: Value] = [:], email: String = "ada@example.com", verified: Bool = false) -> Value {
    var f: [String: Value] = ["_id": .string("u1"), "email": .string(email), "emailVerified": .bool(verified), "name": .string("Ada")]
    for (k, v) in extra { f[k] = v }
    return .map(f)
}

private func account(_ provider: String, userId: String = "u1", password: Value = .null) -> Value {
    row(["_id": .string("a-\(provider)"), "userId": .string(userId), "providerId": .string(provider),
         "accountId": .string(provider == "credential" ? userId : "1093"), "password": password])
}

@Suite struct SignInMethodInference {
    static let table: [(name: String, user: Value, accounts: [Value], passkeys: [Value], verifications: [Value], methods: [SignInMethod])] = [
        ("email + password", user(), [account("credential", password: .secret(Secret(scrypt)))], [], [], [.password]),
        ("Google only", user(verified: true), [account("google")], [], [], [.social(providerId: "google")]),
        ("password, GitHub and Google", user(), [account("google"), account("credential", password: .string(scrypt)), account("github")],
         [], [], [.password, .social(providerId: "github"), .social(providerId: "google")]),
        ("another user's accounts do not count", user(), [account("credential", userId: "u2", password: .string(scrypt))], [], [], []),
        ("a credential account without a password", user(), [account("credential", password: .string(""))], [], [], []),
        ("username + password", user(["username": .string("ada")]), [account("credential", password: .string(scrypt))], [], [],
         [.password, .username]),
        ("a username without a password is no way in", user(["username": .string("ada")]), [], [], [], []),
        ("passkey", user(), [account("credential", password: .string(scrypt))],
         [row(["userId": .string("u1"), "credentialID": .string("c1")])], [], [.password, .passkey]),
        ("email OTP row (the email as typed, lowercased by the plugin)", user(email: "Ada@Example.com"), [], [],
         [row(["identifier": .string("sign-in-otp-ada@example.com"), "value": .string("123456:0")])], [.emailOTP]),
        ("an email-verification OTP is not a sign-in method", user(), [], [],
         [row(["identifier": .string("email-verification-otp-ada@example.com"), "value": .string("123456:0")])], []),
        ("magic link row", user(), [], [],
         [row(["identifier": .string("hQkZxTqWbLmNpRsTuVwXyZaBcDeFgHiJ"), "value": .string(#"{"email":"ada@example.com","name":""}"#)])],
         [.magicLink]),
        ("someone else's magic link", user(), [], [],
         [row(["identifier": .string("tok"), "value": .string(#"{"email":"bob@example.com"}"#)])], []),
        ("verified, no account, no row: OTP or magic link", user(verified: true), [], [], [], [.emailCode]),
        ("unverified, no account: nothing", user(), [], [], [], []),
        ("anonymous", user(["isAnonymous": .bool(true)], email: "temp@u1.com", verified: true), [], [], [], [.anonymous]),
        ("verified phone", user(["phoneNumber": .string("+15551234567"), "phoneNumberVerified": .bool(true)]), [], [], [], [.phoneNumber]),
    ]

    @Test(arguments: 0..<table.count)
    func methodsFromRows(_ i: Int) {
        let c = Self.table[i]
        let m = SignInMethods(user: c.user, accounts: c.accounts, passkeys: c.passkeys, verifications: c.verifications)
        #expect(m.methods == c.methods, "\(c.name): \(m.methods)")
    }

    @Test func theMethodFlagMatchesKinds() {
        let google = SignInMethods(user: user(verified: true), accounts: [account("google")])
        #expect(google.includes(.social))
        #expect(google.includes(.any))
        #expect(!google.includes(.password))
        #expect(google.summary == "Google")
        #expect(google.facts["hasPassword"] == .bool(false))
        #expect(google.facts["methods"] == .list([.string("social:google")]))
        let code = SignInMethods(user: user(verified: true), accounts: [])
        #expect(code.includes(.otp) && code.includes(.magicLink) && !code.includes(.passkey))
        let none = SignInMethods(user: user(), accounts: [account("credential", password: .null)])
        #expect(none.isEmpty)
        #expect(!none.includes(.any))
        #expect(none.credentialWithoutPassword)
        #expect(none.summary == "no sign-in method")
        #expect(SignInMethodKind(rawValue: "magic-link") == .magicLink)
    }

    @Test func passwordsNeverReachTheFacts() {
        let m = SignInMethods(user: user(), accounts: [account("credential", password: .string(scrypt))])
        #expect(!JSONWriter.write(m.facts).contains("0123456789abcdef"))
    }
}

@Suite struct ConvexAuthPasswords {
    static let table: [(name: String, account: Value, verdict: ConvexAuthPassword)] = [
        ("Lucia v3 scrypt", row(["provider": .string("password"), "providerAccountId": .string("Ada@example.com"), "secret": .string(scrypt)]),
         .carriesOver),
        ("secret-typed", row(["provider": .string("password"), "secret": .secret(Secret(scrypt))]), .carriesOver),
        ("Lucia LegacyScrypt s2:", row(["provider": .string("password"), "secret": .string("s2:abcdef:0123456789")]),
         .cannotCarryOver(shape: "Lucia v2 s2: scrypt hash (20 chars)")),
        ("bcrypt from a custom crypto", row(["provider": .string("password"),
                                             "secret": .string("$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")]),
         .cannotCarryOver(shape: "bcrypt hash ($2b$, cost 10, 60 chars)")),
        ("uppercase hex", row(["provider": .string("password"), "secret": .string(scrypt.uppercased())]),
         .cannotCarryOver(shape: "scrypt salt:key with uppercase hex, 161 chars")),
        ("no secret", row(["provider": .string("password")]), .noSecret),
        ("OAuth account", row(["provider": .string("github"), "providerAccountId": .string("1093")]), .notAPasswordAccount(provider: "github")),
    ]

    @Test(arguments: 0..<table.count)
    func formatsBetterAuthCanVerify(_ i: Int) {
        let c = Self.table[i]
        let verdict = ConvexAuthPassword.classify(account: c.account)
        #expect(verdict == c.verdict, "\(c.name): \(verdict)")
        // The description and the facts say the shape, never the value.
        let printed = verdict.description + JSONWriter.write(verdict.facts)
        #expect(!printed.contains("0123456789abcdef") && !printed.contains("N9qo8uLO") && !printed.contains("abcdef:01"), "\(printed)")
    }

    @Test func aCustomProviderIdIsHonoured() {
        let acct = row(["provider": .string("email-password"), "secret": .string(scrypt)])
        #expect(ConvexAuthPassword.classify(account: acct) == .notAPasswordAccount(provider: "email-password"))
        #expect(ConvexAuthPassword.classify(account: acct, passwordProvider: "email-password") == .carriesOver)
        #expect(ConvexAuthPassword.carriesOver.facts["carriesOver"] == .bool(true))
    }
}
