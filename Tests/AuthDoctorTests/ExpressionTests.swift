@testable import AuthDoctorCore
import Testing

private let facts: [String: Value] = [
    "ba": .map([
        "user": .map(["_id": .string("u1"), "email": .string("Ada@Example.com"), "emailVerified": .bool(false),
                      "createdAt": .double(1_763_900_000_000)]),
        "users": .list([
            .map(["_id": .string("u1"), "email": .string("Ada@Example.com")]),
            .map(["_id": .string("u2"), "email": .string("ada@example.com")]),
        ]),
        "accounts": .list([
            .map(["userId": .string("u1"), "providerId": .string("github"), "accessToken": .secret(Secret("gho_abcdefgh"))]),
            .map(["userId": .string("u1"), "providerId": .string("credential"),
                  "password": .secret(Secret("0123456789abcdef0123456789abcdef:" + String(repeating: "ab", count: 64)))]),
        ]),
    ]),
    "input": .map(["email": .string(" Ada@Example.com "), "normalizedEmail": .string("ada@example.com")]),
    "app": .map(["user": .null, "users": .list([]), "linkField": .string("authId")]),
    "now": .int(1_764_000_000_000),
]

private func eval(_ text: String, _ root: [String: Value] = facts) throws -> Value {
    let e = try ExpressionParser.parse(text)
    try ExpressionValidator.validate(e, names: Set(root.keys))
    return try Evaluator.evaluate(e, Scope(root: root))
}

private func syntaxError(_ text: String) -> ExpressionSyntaxError? {
    do {
        let e = try ExpressionParser.parse(text)
        try ExpressionValidator.validate(e, names: Set(facts.keys))
        return nil
    } catch {
        return error
    }
}

@Suite struct ExpressionLanguage {
    @Test func literalsAndOperators() throws {
        #expect(try eval("1 + 2 * 3") == .int(7))
        #expect(try eval("(1 + 2) * 3") == .int(9))
        #expect(try eval("7 / 2") == .int(3))
        #expect(try eval("7.0 / 2") == .double(3.5))
        #expect(try eval("7 % 4") == .int(3))
        #expect(try eval("-3 < 2 && !false") == .bool(true))
        #expect(try eval("'a' + \"b\"") == .string("ab"))
        #expect(try eval("[1, 2] + [3]") == .list([.int(1), .int(2), .int(3)]))
        #expect(try eval("1 == 1.0") == .bool(true))
        #expect(try eval("'b' > 'a'") == .bool(true))
        #expect(try eval("2 in [1, 2]") == .bool(true))
        #expect(try eval("'x' in ['a']") == .bool(false))
        #expect(try eval("'email' in ba.user") == .bool(true))
        #expect(try eval("'@' in 'a@b'") == .bool(true))
        #expect(try eval("true ? 'y' : 'n'") == .string("y"))
        #expect(try eval("false ? 'y' : 1 > 0 ? 'a' : 'b'") == .string("a"))
        #expect(try eval("1_000 == 1000") == .bool(true))
        #expect(try eval("1e3 == 1000") == .bool(true))
    }

    @Test func fieldAccessAndIndex() throws {
        #expect(try eval("ba.user._id") == .string("u1"))
        #expect(try eval("ba.users[1]._id") == .string("u2"))
        #expect(try eval("ba.user[app.linkField]") == .null)
        #expect(try eval("ba.user['email']") == .string("Ada@Example.com"))
        #expect(try eval("ba.users[5]") == .null)
    }

    @Test func nullPropagatesInsteadOfThrowing() throws {
        #expect(try eval("app.user.email") == .null)
        #expect(try eval("app.user.email.deeper") == .null)
        #expect(try eval("lower(app.user.email)") == .null)
        #expect(try eval("size(app.user)") == .null)
        #expect(try eval("app.user.x < 3") == .null)
        #expect(try eval("app.user.x + 1") == .null)
        #expect(try eval("!app.user.flag") == .null)
        #expect(try eval("app.user == null") == .bool(true))
        #expect(try eval("app.user != null") == .bool(false))
        #expect(try eval("false && app.user.flag") == .bool(false))
        #expect(try eval("true || app.user.flag") == .bool(true))
        #expect(try eval("true && app.user.flag") == .null)
        #expect(try eval("app.user.flag ? 1 : 2") == .null)
        #expect(try eval("matches(app.user.email, 'x')") == .null)
        #expect(try eval("app.user.list.exists(x, x == 1)") == .null)
    }

    @Test func functions() throws {
        #expect(try eval("size(ba.users)") == .int(2))
        #expect(try eval("size('héllo')") == .int(5))
        #expect(try eval("lower(ba.user.email)") == .string("ada@example.com"))
        #expect(try eval("upper('a')") == .string("A"))
        #expect(try eval("trim(input.email)") == .string("Ada@Example.com"))
        #expect(try eval("ba.user.email.lower()") == .string("ada@example.com"))
        #expect(try eval("matches(input.normalizedEmail, '^[^@]+@[^@]+$')") == .bool(true))
        #expect(try eval("startsWith(ba.user.email, 'Ada')") == .bool(true))
        #expect(try eval("ba.user.email.endsWith('.com')") == .bool(true))
        #expect(try eval("contains(ba.user.email, '@')") == .bool(true))
        #expect(try eval("join(ba.users.map(u, u._id), ', ')") == .string("u1, u2"))
        #expect(try eval("split('a|b', '|')") == .list([.string("a"), .string("b")]))
        #expect(try eval("type(1)") == .string("int"))
        #expect(try eval("type(1.5)") == .string("double"))
        #expect(try eval("type(app.user)") == .string("null"))
        #expect(try eval("max([3, 9, 1])") == .int(9))
        #expect(try eval("min([3, 9, 1])") == .int(1))
        #expect(try eval("max([])") == .null)
        #expect(try eval("sum([1, 2.5])") == .double(3.5))
        #expect(try eval("iso(0)") == .string("1970-01-01T00:00:00Z"))
        #expect(try eval("iso(ba.user.createdAt)") == .string("2025-11-23T12:13:20Z"))
        #expect(try eval("keys(ba.user)") == .list(["_id", "createdAt", "email", "emailVerified"].map { .string($0) }))
        #expect(try eval("coalesce(app.user, 'none')") == .string("none"))
        #expect(try eval("has(ba.user.email)") == .bool(true))
        #expect(try eval("has(ba.user.banned)") == .bool(false))
        #expect(try eval("has(app.user.x)") == .bool(false))
        #expect(try eval("string(3.0)") == .string("3"))
        #expect(try eval("int('42')") == .int(42))
        #expect(try eval("double(2)") == .double(2))
        #expect(try eval("hashKind('$2b$10$abc')") == .string("bcrypt"))
        #expect(try eval("hashKind(app.user)") == .string("null"))
        #expect(try eval("shape('abc')") == .string("3 chars"))
    }

    @Test func listMacros() throws {
        #expect(try eval("ba.users.exists(u, u.email == 'ada@example.com')") == .bool(true))
        #expect(try eval("ba.users.all(u, lower(u.email) == 'ada@example.com')") == .bool(true))
        #expect(try eval("ba.users.filter(u, u._id == 'u2').map(u, u.email)") == .list([.string("ada@example.com")]))
        #expect(try eval("ba.users.first(u, u._id == 'u2')._id") == .string("u2"))
        #expect(try eval("ba.users.first(u, u._id == 'nope')") == .null)
        #expect(try eval("ba.users.count(u, startsWith(u._id, 'u'))") == .int(2))
        #expect(try eval("[].all(x, x > 1)") == .bool(true))
        #expect(try eval("[].exists(x, x > 1)") == .bool(false))
        #expect(try eval("[1, 2].map(x, x * 10)") == .list([.int(10), .int(20)]))
        // A macro variable shadows nothing outside its body.
        #expect(try eval("[1].map(ba, ba + 1)") == .list([.int(2)]))
    }

    @Test func secretsAreClassifiedButNeverReadOrRendered() throws {
        #expect(try eval("hashKind(ba.accounts[1].password)") == .string("scrypt"))
        #expect(try eval("shapeLength(ba.accounts[0].accessToken)") == .int(12))
        #expect(try eval("hashParts(ba.accounts[1].password)") == .int(2))
        #expect(try eval("ba.accounts[0].accessToken == ba.accounts[0].accessToken") == .bool(true))
        #expect(try eval("ba.accounts[0].accessToken != null") == .bool(true))
        // Anything that reads the characters is refused (issue 11: it leaks a secret bit by bit).
        for e in ["matches(ba.accounts[1].password, '^[0-9a-f]{32}:[0-9a-f]{128}$')", "size(ba.accounts[0].accessToken)",
                  "ba.accounts[0].accessToken == 'gho_abcdefgh'", "'x' + ba.accounts[0].accessToken",
                  "split(ba.accounts[0].accessToken, '_')", "lower(ba.accounts[0].accessToken)"] {
            #expect(throws: EvaluationError.self, "\(e)") { try eval(e) }
        }
        let joined = try eval("join(ba.accounts.map(a, a.accessToken), ',')")
        #expect(joined.stringValue?.contains("gho_abcdefgh") == false)
        let t = try Template.parse("hash: {{ ba.accounts[1].password }} / {{ ba.accounts[0] }}")
        let out = try t.render(Scope(root: facts))
        #expect(!out.contains("0123456789abcdef"))
        #expect(!out.contains("gho_abcdefgh"))
        #expect(out.contains("scrypt salt:key, 161 chars"))
    }

    @Test func typeErrorsAreEvaluationErrors() {
        #expect(throws: EvaluationError.self) { try eval("'a' < 1") }
        #expect(throws: EvaluationError.self) { try eval("1 + 'a'") }
        #expect(throws: EvaluationError.self) { try eval("1 && true") }
        #expect(throws: EvaluationError.self) { try eval("1 / 0") }
        #expect(throws: EvaluationError.self) { try eval("size(true)") }
        #expect(throws: EvaluationError.self) { try eval("ba.user.email.exists(x, true)") }
    }

    @Test func syntaxErrorsCarryPositions() {
        #expect(syntaxError("ba.user.email = 'x'") == ExpressionSyntaxError(message: "'=' is not an operator; use '==' to compare", offset: 14))
        #expect(syntaxError("size(ba.users")?.offset == 13)
        #expect(syntaxError("a & b")?.message == "use '&&' for logical and")
        #expect(syntaxError("ba.user.")?.offset == 8)
        #expect(syntaxError("'unterminated")?.offset == 0)
        #expect(syntaxError("1 +")?.offset == 3)
        #expect(syntaxError("")?.message == "empty expression")
        #expect(syntaxError("frobnicate(1)")?.message.hasPrefix("unknown function 'frobnicate'") == true)
        #expect(syntaxError("size(1, 2)")?.message == "size() takes 1 argument(s), got 2")
        #expect(syntaxError("nope.x")?.message.hasPrefix("unknown name 'nope'") == true)
        #expect(syntaxError("ba.users.map(1, 2)")?.offset == 8)
        #expect(syntaxError("matches(ba.user.email, '[a-')")?.offset == 23)
        #expect(syntaxError("has(ba)")?.message == "has() takes a field: has(x.field)")
        #expect(syntaxError("1 2")?.message == "unexpected '2' after the expression")
    }

    @Test func templates() throws {
        let t = try Template.parse("user {{ ba.user._id }} has {{ size(ba.users) }} matches; json '{\"a\":\"{{ input.normalizedEmail }}\"}}'")
        #expect(try t.render(Scope(root: facts)) == "user u1 has 2 matches; json '{\"a\":\"ada@example.com\"}}'")
        #expect(throws: ExpressionSyntaxError.self) { try Template.parse("oops {{ ba.user._id ") }
        do {
            _ = try Template.parse("ab {{ 1 + }}")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.offset == 10)
        }
        let braces = try Template.parse("{{ '}}' }}")
        #expect(try braces.render(Scope(root: facts)) == "}}")
    }

    @Test func jsonParserKeepsIntegersApartFromFloats() throws {
        let v = try JSONParser.parse(#"{"a":3,"b":3.0,"c":-0.0,"d":1e2,"e":"\u00e9\ud83d\ude00\n","f":[true,null],"g":1712345678901234567}"#)
        #expect(v["a"] == .int(3))
        #expect(v["b"] == .double(3))
        if case .double = v["b"] {} else { Issue.record("3.0 must stay a float") }
        #expect(v["d"] == .double(100))
        #expect(v["e"] == .string("é😀\n"))
        #expect(v["f"] == .list([.bool(true), .null]))
        #expect(v["g"] == .int(1_712_345_678_901_234_567))
        for bad in ["{", "{\"a\":}", "[1,]", "{\"a\":1}x", "\"\\q\"", "01", "{'a':1}", "[" + String(repeating: "[", count: 500)] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONParser.parse(bad) }
        }
    }
}

/// The functions are one registry (`Builtin`): every one is documented, arity-checked and secret-safe at load.
@Suite struct BuiltinRegistry {
    static func load(_ assert: String) throws -> Rule {
        try RuleLoader.load(yaml: "id: team.x\nstep: 90\ntitle: X\nfailTitle: Y\nassert: 'type(\(assert)) != \"z\"'\nmessage: m\n", file: "team.x.yaml")
    }

    @Test(arguments: Builtin.allCases)
    func everyFunctionIsDocumentedAndRefusesTheWrongArity(_ f: Builtin) throws {
        let readme = try String(contentsOf: repoRoot.appendingPathComponent("rules/README.md"), encoding: .utf8)
        #expect(readme.contains("`\(f.rawValue)("), "rules/README.md documents \(f.rawValue)()")
        let field = f == .has ? "ba.user.email" : "\"x\""
        let tooMany = "\(f.rawValue)(" + Array(repeating: field, count: f.arity.upperBound + 1).joined(separator: ", ") + ")"
        #expect(throws: RuleLoadError.self) { try Self.load(tooMany) }
        // Arguments of a type the checker cannot know (a field of the app row) fit every function.
        let fits = "\(f.rawValue)(" + Array(repeating: "app.user.anything", count: f.arity.lowerBound).joined(separator: ", ") + ")"
        #expect(throws: Never.self) { try Self.load(fits) }
        // A secret (the account's password hash) reaches only the functions that classify it.
        let secret = "\(f.rawValue)(ba.accounts.first(a, a.providerId == \"credential\").password" + String(repeating: ", \"x\"", count: f.arity.lowerBound - 1) + ")"
        let loaded = (try? Self.load(secret)) != nil
        #expect(loaded == f.looksAtSecrets, "\(f.rawValue)() and secrets")
    }
}
