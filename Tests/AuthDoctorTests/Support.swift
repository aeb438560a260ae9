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

/// The environment the binary runs in under test: a pinned clock, no deploy key of the machine's, and text wrapped
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

/// Runs the binary like a user would (no TTY), with a pinned clock unless `env` overrides it.
@discardableResult
func runCLI(_ args: [String], env: [String: String] = [:], stdin: String? = nil, cwd: URL? = nil) throws -> RunResult {
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
