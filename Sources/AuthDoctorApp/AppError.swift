import AuthDoctorCore
import AuthDoctorSources
import Foundation

/// Why a run could not do its job. Every case carries the facts; `description` is the message the operator reads
/// (what went wrong and what to do) and `exitCode` is 2, or 64 for a usage error found only after loading.
public enum AppError: Error, CustomStringConvertible, Sendable {
    /// A usage error known only once the rules are loaded (an `audit --list` id audit does not count): exit 64.
    case usage(String)
    case configUnreadable(path: String)
    case configNotText(path: String)
    case configInvalid(String)
    case ruleFileInvalid(String)
    case disablesUnknownRule(String)
    case clockInvalid(String)
    case keyMissing
    case keyFileUnreadable(path: String)
    case keyInvalid(String)
    case keyIsAUserToken
    /// An export, deployment or env file that could not be read (the source layer's own message).
    case source(SourceError)
    /// A folder given as --export that holds an export rather than being one.
    case exportFolder(hint: String)
    case stepSummaryUnwritable(path: String)
    case stdin(String)
    case nothingToProbe
    case ruleFolderEmpty(path: String)
    case fixturesForUnknownRule(file: String, rule: String, folder: String)
    case ruleNotFound(id: String, close: [String])

    public var exitCode: Int32 {
        if case .usage = self { return 64 }
        return 2
    }

    public var description: String {
        switch self {
        case .usage(let m): return m
        case .configUnreadable(let path): return "\(path): cannot read the config file. Check the path (--config) and its permissions."
        case .configNotText(let path): return "\(path): the config is not UTF-8 text."
        case .configInvalid(let m): return "\(m). Fix the config file."
        case .ruleFileInvalid(let m): return "invalid rule file: \(m)"
        case .disablesUnknownRule(let id): return "the config disables '\(id)', which is not a rule (see `auth-doctor rules list`)."
        case .clockInvalid(let raw): return "AUTH_DOCTOR_NOW=\(raw) is neither epoch milliseconds nor an ISO 8601 date."
        case .keyMissing:
            return "no deploy or admin key: set $CONVEX_DEPLOY_KEY (or $CONVEX_SELF_HOSTED_ADMIN_KEY, $CONVEX_ADMIN_KEY), or pass --admin-key-file FILE. Keys are never taken on the command line."
        case .keyFileUnreadable(let path): return "\(path): cannot read the admin key file (--admin-key-file)."
        case .keyInvalid(let m): return m
        case .keyIsAUserToken:
            return "the key looks like a user's JWT (a Bearer token). auth-doctor needs a deploy key (dashboard: Settings > Deploy keys) or an admin key."
        case .source(let e): return e.message
        case .exportFolder(let hint): return hint
        case .stepSummaryUnwritable(let path): return "\(path) ($GITHUB_STEP_SUMMARY): cannot write the step summary there."
        case .stdin(let m): return m
        case .nothingToProbe:
            return "no URL to probe: the files given name no site (NEXT_PUBLIC_SITE_URL, VITE_SITE_URL, SITE_URL) and no Convex site (NEXT_PUBLIC_CONVEX_SITE_URL, CONVEX_SITE_URL, *_CONVEX_URL). Give --site URL and/or --convex-site URL."
        case .ruleFolderEmpty(let path): return "\(path): no rule files (*.yaml) in this folder."
        case .fixturesForUnknownRule(let file, let rule, let folder): return "\(file): fixtures for '\(rule)', which is not a rule in \(folder)."
        case .ruleNotFound(let id, let close):
            return "no rule '\(id)': " + (close.isEmpty ? "run `auth-doctor rules list` for the ids" : "did you mean \(close.joined(separator: ", "))?")
        }
    }

    /// Runs a body of the source layer, its errors as `.source`.
    static func reading<T>(_ body: () throws -> T) throws(AppError) -> T {
        do { return try body() } catch let e as SourceError { throw .source(e) } catch let e as AppError { throw e } catch {
            throw .source(SourceError("\(error)"))
        }
    }
}
