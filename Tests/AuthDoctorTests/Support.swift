import AuthDoctorApp
@testable import auth_doctor
import Foundation
import Testing

/// The repository root, found from this file's path.
let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let demoExport = repoRoot.appendingPathComponent("Examples/demo-export.zip").path

/// A fixed clock for reports that must not change between runs.
let fixedNow = "1764000000000"

/// The built `auth-doctor` binary, next to the test bundle.
func binaryURL() -> URL {
    var dir = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("auth-doctor")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return repoRoot.appendingPathComponent(".build/debug/auth-doctor")
}

struct RunResult {
    let exitCode: Int32
    let stdout: String
    let stderr: String
}

/// The environment a run has under test: a pinned clock, no deploy key of the machine's, and text wrapped
/// wide (to $COLUMNS when stdout is not a terminal) so substring checks see whole sentences; the layout tests set
/// 80 or 120. `env` wins.
func cliEnvironment(_ env: [String: String]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["AUTH_DOCTOR_NOW"] = fixedNow
    environment.removeValue(forKey: "CONVEX_DEPLOY_KEY")
    environment["COLUMNS"] = "400"
    for (k, v) in env { environment[k] = v }
    return environment
}

/// Runs the command like a user would (no TTY), with a pinned clock unless `env` overrides it, inside this process:
/// parsed by the root command and run in a `RunContext` of its own (this environment, `stdin` then its end, stdout and
/// stderr collected, a fresh secret registry, no terminal), so runs side by side share nothing. What it returns is what
/// the binary prints and its exit status, usage errors, help and the unknown-command message included.
///
/// Not here: another working directory (relative paths are this process's), or a variable read once per process
/// (refused: `processWideVariables`). `spawnCLI` runs the binary for those.
@discardableResult
func runCLI(_ args: [String], env: [String: String] = [:], stdin: String? = nil) throws -> RunResult {
    let processWide = env.keys.filter { processWideVariables.contains($0) }
    guard processWide.isEmpty else { throw InProcessRunRefused(variables: processWide.sorted()) }
    let out = Collected(), err = Collected()
    let context = RunContext(environment: cliEnvironment(env), stdin: StdinSource(bytes: Array((stdin ?? "").utf8)),
                             output: OutputSink(stdout: out.append, stderr: err.append), secrets: SecretRegistry(),
                             asksTerminal: false)
    let code = RunContext.$current.withValue(context) { AuthDoctor.run(args) }
    return RunResult(exitCode: code, stdout: out.text, stderr: err.text)
}

/// Variables the process reads once for good (the ISA-L library loaded, the proxy exceptions): an in-process run
/// cannot give them a value of its own.
private let processWideVariables: Set<String> = ["AUTH_DOCTOR_ISAL_LIBRARY", "NO_PROXY", "no_proxy"]

struct InProcessRunRefused: Error, CustomStringConvertible {
    let variables: [String]
    var description: String { "\(variables.joined(separator: ", ")) is read once per process: use spawnCLI" }
}

/// What a run wrote to one stream.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []

    @Sendable func append(_ s: String) {
        lock.lock()
        parts.append(s)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return parts.joined()
    }
}

/// Runs the built binary as a child process (no TTY), with a pinned clock unless `env` overrides it: for what only
/// the binary shows (its own working directory, process-wide variables, timing, crashes) and the smoke tests that
/// keep the binary itself covered.
@discardableResult
func spawnCLI(_ args: [String], env: [String: String] = [:], stdin: String? = nil, cwd: URL? = nil) throws -> RunResult {
    let p = Process()
    p.executableURL = binaryURL()
    p.arguments = args
    p.environment = cliEnvironment(env)
    if let cwd { p.currentDirectoryURL = cwd }
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read both pipes before waiting so a large report cannot block the child.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return RunResult(exitCode: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// A fresh temporary folder, removed by the caller.
func tempDir(_ name: String = "t") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("auth-doctor-test-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes an export tree: keys like `_components/betterAuth/user` or `users`, values are JSONL text.
func writeExport(_ tables: [String: String], in dir: URL, schema: String = "\"uniform\"") throws {
    for (path, text) in tables {
        let folder = dir.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: folder.appendingPathComponent("documents.jsonl"))
        try Data((schema + "\n").utf8).write(to: folder.appendingPathComponent("generated_schema.jsonl"))
    }
}

/// Zips a folder with the system's python (zipfile, deflate), like `npx convex export` does.
func zipFolder(_ dir: URL, to zip: URL) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", """
        import os, sys, zipfile
        root, out = sys.argv[1], sys.argv[2]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for d, _, files in sorted(os.walk(root)):
                for f in sorted(files):
                    full = os.path.join(d, f)
                    z.write(full, os.path.relpath(full, root))
        """, dir.path, zip.path]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
}
