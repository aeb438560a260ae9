import AuthDoctorCore
import Foundation

// Experiment: the cost of evaluating the built-in rules per user with the generic engine.
let rules = try RuleSet.builtIn().rules(for: .diagnose).filter { !$0.id.hasPrefix("env.") }
let n = Int(CommandLine.arguments.dropFirst().first ?? "100000") ?? 100000
let config = Config()
let now = Date(timeIntervalSince1970: 1_767_225_600)
var datas: [PersonData] = []
for i in 0..<n {
    var d = PersonData()
    let uid = "jh7amwytcfh6pg51qdr1ratc0\(i)"
    let email = "user\(i)@example.com"
    d.baUsers = [["_id": .string(uid), "_creationTime": .double(1763900000000.5), "email": .string(email), "emailVerified": .bool(true),
                  "name": .string("User \(i)"), "createdAt": .double(1763900000000), "updatedAt": .double(1763900000000)]]
    d.accounts = [["_id": .string("acc\(i)"), "userId": .string(uid), "providerId": .string("credential"), "accountId": .string(uid),
                   "password": .string("0123456789abcdef0123456789abcdef:e8b256b6f9f4b1641136a66d4a26ba41a47b6c8c9bad6aa4145559ffda45ece1f0f16dec8482a3e5545feada0ba62f2b05eeb943b750c9396874e1762c78d27d"),
                   "createdAt": .double(1763900000000), "updatedAt": .double(1763900000000)]]
    d.sessions = (0..<2).map { k in ["_id": .string("s\(i)_\(k)"), "userId": .string(uid), "token": .string("tok\(i)\(k)"),
                                     "expiresAt": .double(1769900000000), "createdAt": .double(1763900000000), "updatedAt": .double(1763900000000)] }
    d.appUsers = [["_id": .string("app\(i)"), "authId": .string(uid), "email": .string(email)]]
    d.linkField = "authId"
    datas.append(d)
}
let source = SourceInfo(kind: .export, location: "x")
let engine = Engine(rules: rules, failOn: .error)
var t = Date()
var facts: [Facts] = []
for d in datas {
    facts.append(Facts.diagnose(email: d.baUsers[0]["email"]!.stringValue!, data: d, source: source, config: config, now: now))
}
print("facts: \(Date().timeIntervalSince(t) / Double(n) * 1e6) µs/user")
t = Date()
var fails = 0
for f in facts {
    for r in engine.run(f) where r.status == .fail { fails += 1 }
}
print("engine.run: \(Date().timeIntervalSince(t) / Double(n) * 1e6) µs/user (\(fails) fails)")
