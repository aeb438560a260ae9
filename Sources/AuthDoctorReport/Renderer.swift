import AuthDoctorCore

/// One output format. A renderer only reads the report; it never reads a source.
public protocol ReportRenderer {
    func render(_ report: Report) -> String
}

public enum OutputFormat: String, CaseIterable, Sendable {
    case text, json, markdown, github

    public func renderer(color: Bool, width: Int = 80, verbose: Bool = false) -> ReportRenderer {
        switch self {
        case .text: return TextRenderer(color: color, width: width, verbose: verbose)
        case .json: return JSONRenderer()
        case .markdown: return MarkdownRenderer()
        case .github: return GitHubRenderer()
        }
    }
}

/// DESIGN §10: one object, keys sorted, written once.
public struct JSONRenderer: ReportRenderer {
    public init() {}

    public func render(_ report: Report) -> String { JSONWriter.write(report.value) + "\n" }

    /// `{"name": "auth-doctor", "version": ...}`, in every JSON document the tool writes.
    public static var tool: Value { .map(["name": .string(toolName), "version": .string(toolVersion)]) }

    /// The exit-2 shape: `{"schemaVersion":1,"tool":{...},"error":{"message":...}}`.
    public static func error(_ message: String, command: String?) -> String {
        var out: [String: Value] = [
            "schemaVersion": .int(1),
            "tool": tool,
            "error": .map(["message": .string(message)]),
        ]
        if let command { out["command"] = .string(command) }
        return JSONWriter.write(.map(out)) + "\n"
    }
}
