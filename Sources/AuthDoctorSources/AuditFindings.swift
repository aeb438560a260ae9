import AuthDoctorCore
import Foundation

extension ExportAudit {
    /// Counts, examples and (for `--list`) every affected id, per rule.
    struct Findings {
        let options: Options
        let rules: RuleSet
        let users: Users
        var counts: [String: Int] = [:]
        var examples: [String: [String]] = [:]
        var listed: [String: [String]] = [:]
        var details: [String: [String: Int]] = [:]
        /// With `trackUsers`: per rule, the indexes of the users the findings belong to.
        var owners: [String: Set<Int32>] = [:]

        init(options: Options, rules: RuleSet, users: Users) {
            self.options = options
            self.rules = rules
            self.users = users
        }

        /// Forgets what was found for a rule (a team's rule that replaced a built-in one counts by its own predicate).
        mutating func reset(_ rule: String) {
            counts[rule] = nil
            examples[rule] = nil
            listed[rule] = nil
            details[rule] = nil
            owners[rule] = nil
        }

        /// Takes over what another part counted (its rules are not this one's).
        mutating func merge(_ other: Findings) {
            counts.merge(other.counts) { a, b in a + b }
            examples.merge(other.examples) { a, b in a + b }
            listed.merge(other.listed) { a, b in a + b }
            details.merge(other.details) { a, _ in a }
            owners.merge(other.owners) { a, b in a.union(b) }
        }

        mutating func count(_ rule: String, example: @autoclosure () -> String) {
            counts[rule, default: 0] += 1
            if examples[rule, default: []].count < options.examples {
                let e = example()
                if !examples[rule, default: []].contains(e) { examples[rule, default: []].append(e) }
            }
        }

        mutating func list(_ rule: String, _ id: @autoclosure () -> String) {
            if options.listRule == rule { listed[rule, default: []].append(id()) }
        }

        /// A user-centric finding: the example is the user's email, the listed id the user's (or the row's) id.
        mutating func add(_ rule: String, user i: Int, id: String? = nil) {
            // The two arenas only (references): a copy of `users` would retain each of its arrays.
            let (emails, ids) = (users.emails, users.ids)
            count(rule, example: emails[i])
            list(rule, id ?? ids[i])
            if options.trackUsers { owners[rule, default: []].insert(Int32(i)) }
        }

        /// A row-centric finding: examples and list are row ids; `owner` is the user the row belongs to, if any.
        mutating func addRow(_ rule: String, id: String, owner: Int32? = nil) {
            count(rule, example: id)
            list(rule, id)
            if options.trackUsers, let owner { owners[rule, default: []].insert(owner) }
        }

        /// The findings in the rule set's order, with each rule's own titles, `audit:` texts and severity
        /// (`errorWhen` too, decided by the config); rules disabled in the config are left out.
        func build(config: Config, skipped: Set<String> = []) -> [AuditFinding] {
            let disabled = Set(config.disable.map(\.rule))
            let configScope = Scope(root: ["config": config.facts, "input": .null, "ba": .null, "app": .null, "env": .null,
                                           "source": .null, "cli": .null, "now": .null, "checks": .map([:]), "convexAuth": .null])
            return rules.rules(for: .audit).filter { !disabled.contains($0.id) }.map { r in
                var severity = r.audit?.severity ?? r.severity
                if let e = r.errorWhen, (try? Evaluator.evaluate(e, configScope)) == .bool(true) { severity = .error }
                return AuditFinding(rule: r.id, step: r.step, title: r.title, failTitle: r.failTitle, severity: severity,
                                    what: r.audit?.what ?? r.title, count: counts[r.id] ?? 0, examples: examples[r.id] ?? [],
                                    details: details[r.id] ?? [:], fix: r.audit?.fix, failOn: options.failOn,
                                    skipped: skipped.contains(r.id))
            }
        }
    }
}
