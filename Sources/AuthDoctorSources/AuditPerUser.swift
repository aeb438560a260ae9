import AuthDoctorCore
import Foundation

/// The per-user checks of `audit` decided by the rules themselves. A user's compact index entries (what the table
/// scans keep: email verified, banned and when the ban ends, 2FA, the first credential account's hash kind, how many
/// app rows and whether one links to it, whether the email is shared) make a profile; users with the same profile get
/// the same verdicts. For each distinct profile (a handful in a real population) a stand-in person is built with
/// exactly those properties and walked through the checklist as `diagnose` walks one (`Facts.diagnose` and `Engine`,
/// `requires` included); a rule that fails or warns for the profile counts every user who has it. So the predicate,
/// `requires` and severity are the rule file's, and the scans only say what the data holds.
struct UserProfile {
    /// The stored email is lowercase and trimmed.
    var emailNormalized = true
    /// Another user's email is this one ignoring case and whitespace; `normalizedTwin`: one of them is stored
    /// normalized (diagnose then looks at that one).
    var sharesEmail = false
    var normalizedTwin = false
    var credentialKind: UInt8?
    var verified = false
    var banned = false
    /// `banExpires`: 0 none, 1 a past time, 2 a future time, 3 something else.
    var banExpires: UInt8 = 0
    var twoFactorEnabled = false
    var twoFactorRow = false
    /// 0, 1 or 2 (two or more).
    var appRows: UInt8 = 0
    var linked = false

    /// The profile in 19 bits: the key users are grouped by (`init(code:)` reads it back).
    var code: UInt32 {
        @inline(__always) func bit(_ b: Bool, _ at: UInt32) -> UInt32 { b ? 1 << at : 0 }
        return bit(emailNormalized, 0) | bit(sharesEmail, 1) | bit(normalizedTwin, 2) | bit(verified, 3) | bit(banned, 4)
            | bit(twoFactorEnabled, 5) | bit(twoFactorRow, 6) | bit(linked, 7) | UInt32(banExpires & 3) << 8
            | UInt32(min(appRows, 2)) << 10 | (credentialKind.map { UInt32($0 & 0x1F) << 12 | 1 << 17 } ?? 0)
    }
}

extension UserProfile {
    init(code c: UInt32) {
        self.init()
        emailNormalized = c & 1 != 0
        sharesEmail = c & 2 != 0
        normalizedTwin = c & 4 != 0
        verified = c & 8 != 0
        banned = c & 16 != 0
        twoFactorEnabled = c & 32 != 0
        twoFactorRow = c & 64 != 0
        linked = c & 128 != 0
        banExpires = UInt8(c >> 8 & 3)
        appRows = UInt8(c >> 10 & 3)
        credentialKind = c & (1 << 17) != 0 ? UInt8(c >> 12 & 0x1F) : nil
    }
}

extension ExportAudit {
    /// The rules (by id) that fail or warn for a profile, walked as diagnose walks a person.
    func verdicts(_ p: UserProfile, rules: RuleSet, ids: Set<String>, linkField: String, kindSamples: [UInt8: String],
                  options: Options) -> Set<String> {
        let email = ExportAudit.standInEmail
        let now = options.now.timeIntervalSince1970 * 1000
        var user: Row = ["_id": .string("audit-user"), "email": .string(p.emailNormalized ? email : " Person@Audit.invalid"), "emailVerified": .bool(p.verified),
                         "banned": .bool(p.banned), "twoFactorEnabled": .bool(p.twoFactorEnabled),
                         "createdAt": .double(now), "updatedAt": .double(now)]
        switch p.banExpires {
        case 1: user["banExpires"] = .double(now - 86_400_000)
        case 2: user["banExpires"] = .double(now + 86_400_000)
        case 3: user["banExpires"] = .string("not a time")
        default: user["banExpires"] = .null
        }
        var data = PersonData()
        data.linkField = linkField
        data.linkDetected = config.linkField == "auto"
        var appRows: [Row] = []
        for k in 0..<Int(p.appRows) {
            let points = p.linked && k == 0
            var row: Row = ["_id": .string("audit-app-\(k)"), config.emailField: .string(email)]
            switch linkField {
            case "email": break
            case Config.legacyLink: if points { user["userId"] = .string("audit-app-0") }
            case "tokenIdentifier": row[linkField] = .string(points ? "https://issuer|audit-user" : "https://issuer|someone-else")
            default: row[linkField] = .string(points ? "audit-user" : "someone-else")
            }
            appRows.append(row)
        }
        data.baUsers = [user]
        if p.sharesEmail {
            // Diagnose looks at the user stored exactly as typed first.
            let twinFirst = p.normalizedTwin && !p.emailNormalized
            let twin: Row = ["_id": .string("audit-user-2"), "email": .string(twinFirst ? email : "PERSON@audit.invalid")]
            if twinFirst { data.baUsers.insert(twin, at: 0) } else { data.baUsers.append(twin) }
        }
        if let kind = p.credentialKind {
            data.accounts = [["_id": .string("audit-account"), "userId": .string("audit-user"), "providerId": .string("credential"),
                              "accountId": .string("audit-user"), "password": kindSamples[kind].map { .string($0) } ?? .null,
                              "createdAt": .double(now), "updatedAt": .double(now)]]
        }
        data.appUsers = appRows
        if p.twoFactorRow { data.side.twoFactors = [["_id": .string("audit-2fa"), "userId": .string("audit-user")]] }
        return Set(walk(data, rules.rules(for: .diagnose), options: options).filter { ids.contains($0.rule) && ($0.status == .fail || $0.status == .warn) }.map(\.rule))
    }

    /// The email of every stand-in person, and its minimal Better Auth user.
    static let standInEmail = "person@audit.invalid"
    static let standInUser: Row = ["_id": .string("audit-user"), "email": .string(standInEmail)]

    /// Rules (the checklist, or one rule with what it requires) walked for a stand-in person, as `diagnose` walks
    /// one.
    func walk(_ data: PersonData, _ rules: [Rule], options: Options) -> [RuleResult] {
        let email = data.baUsers.first?["email"]?.stringValue.map(Email.normalize) ?? ExportAudit.standInEmail
        let facts = Facts.diagnose(email: email, data: data, source: SourceInfo(kind: .none, location: ""), config: config,
                                   env: options.env, now: options.now)
        return Engine(rules: rules, failOn: options.failOn, disabled: config.disable).run(facts)
    }

    /// `ba.jwks.decrypts` for the whole population: the keys are the same for everyone, so one stand-in person with
    /// them decides (the rule's own `when` and `assert`).
    func jwksResult(_ jwks: [Row], rules: RuleSet, options: Options) -> RuleResult? {
        var data = PersonData()
        data.baUsers = [ExportAudit.standInUser]
        data.side.jwks = jwks
        return walk(data, rules.rules(for: .diagnose), options: options).first { $0.rule == "ba.jwks.decrypts" }
    }
}
