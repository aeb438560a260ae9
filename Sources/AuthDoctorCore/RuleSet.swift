/// The rules a run uses: the built-in ones, possibly replaced or extended by a team's own.
public struct RuleSet: Sendable {
    public let rules: [Rule]
    /// Ids of built-in rules that a custom rule replaced, with the file that replaced them.
    public let replaced: [(id: String, file: String)]
    /// Ids of the team's own rules (new ones and replacements): `audit` evaluates them per user over the facts.
    public let customIds: Set<String>

    /// Builds a rule set, checking what spans files: duplicate ids, unknown or cyclic `requires`,
    /// two rules on one step.
    public init(builtIn: [Rule], custom: [Rule] = []) throws(RuleLoadError) {
        var byId: [String: Rule] = [:]
        for r in builtIn {
            if let other = byId[r.id] {
                throw RuleLoadError(file: r.file, line: 1, column: 1, message: "rule id '\(r.id)' is also defined in \(other.file)")
            }
            byId[r.id] = r
        }
        var replaced: [(String, String)] = []
        var customIds: [String: Rule] = [:]
        for r in custom {
            if let other = customIds[r.id] {
                throw RuleLoadError(file: r.file, line: 1, column: 1, message: "rule id '\(r.id)' is also defined in \(other.file)")
            }
            customIds[r.id] = r
            if byId[r.id] != nil { replaced.append((r.id, r.file)) }
            byId[r.id] = r
        }
        var bySteps: [Int: Rule] = [:]
        for r in byId.values.sorted(by: { $0.id < $1.id }) {
            if let other = bySteps[r.step] {
                let (mine, theirs) = customIds[r.id] != nil ? (r, other) : (other, r)
                throw RuleLoadError(file: mine.file, line: 1, column: 1,
                                    message: "step \(r.step) is already taken by '\(theirs.id)' (\(theirs.file)); pick a free step number")
            }
            bySteps[r.step] = r
        }
        for r in byId.values.sorted(by: { $0.id < $1.id }) {
            for req in r.requires where byId[req] == nil {
                throw RuleLoadError(file: r.file, line: 1, column: 1, message: "requires unknown rule '\(req)'")
            }
        }
        // Cycle check: depth-first over `requires`.
        var state: [String: Int] = [:] // 1 = visiting, 2 = done
        func visit(_ id: String, _ path: [String]) throws(RuleLoadError) {
            if state[id] == 2 { return }
            if state[id] == 1 {
                let cycle = (path.drop { $0 != id } + [id]).joined(separator: " -> ")
                throw RuleLoadError(file: byId[id]?.file ?? id, line: 1, column: 1, message: "requires forms a cycle: \(cycle)")
            }
            state[id] = 1
            for req in byId[id]?.requires ?? [] { try visit(req, path + [id]) }
            state[id] = 2
        }
        for id in byId.keys.sorted() { try visit(id, []) }
        for r in byId.values.sorted(by: { $0.id < $1.id }) {
            for req in r.requires {
                guard let other = byId[req] else { continue }
                // Rules are walked in step order: a prerequisite must come first.
                if other.step > r.step {
                    throw RuleLoadError(file: r.file, line: 1, column: 1,
                                        message: "requires '\(req)' (step \(other.step)), which runs after this rule (step \(r.step)); give this rule a later step")
                }
            }
        }
        self.rules = byId.values.sorted { ($0.step, $0.id) < ($1.step, $1.id) }
        self.customIds = Set(customIds.keys)
        self.replaced = replaced.sorted { $0.0 < $1.0 }
    }

    public func rule(_ id: String) -> Rule? { rules.first { $0.id == id } }

    public func rules(for mode: Mode) -> [Rule] { rules.filter { $0.modes.contains(mode) } }

    /// The rules compiled into the binary from `rules/`.
    public static func builtInRules() throws(RuleLoadError) -> [Rule] {
        var rules: [Rule] = []
        for (name, text) in EmbeddedRules.files.sorted(by: { $0.name < $1.name }) {
            rules.append(try RuleLoader.load(yaml: text, file: "rules/\(name)"))
        }
        return rules
    }

    public static func builtIn() throws(RuleLoadError) -> RuleSet {
        try RuleSet(builtIn: try builtInRules())
    }
}
