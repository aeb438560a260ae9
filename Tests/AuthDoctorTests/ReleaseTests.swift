import AuthDoctorCore
import AuthDoctorSources
import Foundation
import Testing

// The release as a user gets it: scripts/release.sh's tarball, unpacked or installed by scripts/install.sh or
// by the composite action's own shell steps, run with no Swift on PATH. The release build takes minutes on a
// small machine, so it is done once per test run and shared by every test of the suite.

private let skipReleaseTests = ProcessInfo.processInfo.environment["AUTH_DOCTOR_SKIP_RELEASE_TESTS"] == "1"

/// The environment a machine without Swift has.
private let minimalEnv = ["PATH": "/usr/bin:/bin"]

private struct Release: Sendable {
    let tarball: URL
    let sha256File: URL
    let seconds: Double
}

private struct ReleaseBuildFailed: Error, CustomStringConvertible {
    let description: String
}

/// Runs a program with exactly `env` when given (like `env -i`), else the test's own environment.
@discardableResult
private func runProgram(_ program: String, _ args: [String], env: [String: String]? = nil, cwd: URL? = nil) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
    p.arguments = program.hasPrefix("/") ? args : [program] + args
    if let env { p.environment = env }
    if let cwd { p.currentDirectoryURL = cwd }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    // Both pipes are drained concurrently so a chatty build cannot block on a full stderr pipe.
    let errData = LockedData()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData.set(err.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return RunResult(exitCode: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                     stderr: String(decoding: errData.get(), as: UTF8.self))
}

private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// Built on first use, once per process. Its own scratch folder (`.build-release`, kept between runs so a
/// second local run is incremental): `swift test` holds the lock of `.build` while it runs.
private let release: Result<Release, ReleaseBuildFailed> = {
    do {
        // Under the scratch folder: each run overwrites the same two files instead of leaving 25 MB in /tmp.
        let out = repoRoot.appendingPathComponent(".build-release/test-dist")
        try? FileManager.default.removeItem(at: out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let start = Date()
        let r = try runProgram("/bin/bash", [repoRoot.appendingPathComponent("scripts/release.sh").path, "--out", out.path,
                                      "--scratch-path", repoRoot.appendingPathComponent(".build-release").path],
                        cwd: repoRoot)
        let seconds = Date().timeIntervalSince(start)
        guard r.exitCode == 0 else {
            return .failure(ReleaseBuildFailed(description: "scripts/release.sh exited \(r.exitCode):\n\(r.stdout)\n\(r.stderr.suffix(4000))"))
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        guard let name = files.first(where: { $0.hasSuffix(".tar.gz") }) else {
            return .failure(ReleaseBuildFailed(description: "scripts/release.sh wrote no .tar.gz in \(out.path): \(files)"))
        }
        let tarball = out.appendingPathComponent(name)
        let size = (try? FileManager.default.attributesOfItem(atPath: tarball.path)[.size] as? Int) ?? 0
        print("release tarball \(name): \(size) bytes, built in \(Int(seconds)) s")
        return .success(Release(tarball: tarball, sha256File: out.appendingPathComponent(name + ".sha256"), seconds: seconds))
    } catch {
        return .failure(ReleaseBuildFailed(description: "could not run scripts/release.sh: \(error)"))
    }
}()

private func builtRelease() throws -> Release {
    try release.get()
}

/// The tarball unpacked into a fresh prefix, as `tar --strip-components=1` does it.
private func unpacked(_ rel: Release) throws -> URL {
    let prefix = try tempDir("prefix")
    let r = try runProgram("tar", ["-xzf", rel.tarball.path, "--strip-components=1", "-C", prefix.path])
    #expect(r.exitCode == 0, "tar: \(r.stderr)")
    return prefix
}

@Suite(.serialized, .enabled(if: !skipReleaseTests,
                             "AUTH_DOCTOR_SKIP_RELEASE_TESTS=1: the release tarball tests (a release build of several minutes) are skipped"))
struct ReleaseTarball {
    @Test func tarballIsNamedForVersionAndArchitectureWithAChecksum() throws {
        let rel = try builtRelease()
        let arch = try runProgram("uname", ["-m"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(rel.tarball.lastPathComponent == "auth-doctor-\(toolVersion)-linux-\(arch).tar.gz")
        let check = try runProgram("sha256sum", ["-c", rel.sha256File.lastPathComponent], cwd: rel.tarball.deletingLastPathComponent())
        #expect(check.exitCode == 0, "sha256sum -c: \(check.stdout) \(check.stderr)")
        let list = try runProgram("tar", ["-tzf", rel.tarball.path]).stdout.split(separator: "\n").map(String.init)
        let top = "auth-doctor-\(toolVersion)-linux-\(arch)/"
        for file in ["bin/auth-doctor", "share/man/man1/auth-doctor.1", "share/bash-completion/completions/auth-doctor",
                     "share/zsh/site-functions/_auth-doctor", "share/fish/vendor_completions.d/auth-doctor.fish",
                     "share/doc/auth-doctor/README.md", "share/doc/auth-doctor/runbook.md"] {
            #expect(list.contains(top + file), "\(file) missing from the tarball: \(list)")
        }
        #expect(list.allSatisfy { $0.hasPrefix(top) }, "everything under one folder")
    }

    @Test func unpackedBinaryRunsTheDemoWithoutSwift() throws {
        let prefix = try unpacked(try builtRelease())
        defer { try? FileManager.default.removeItem(at: prefix) }
        let elsewhere = try tempDir("cwd")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let noSwift = try runProgram("/bin/sh", ["-c", "command -v swift"], env: minimalEnv)
        #expect(noSwift.exitCode != 0, "swift is on PATH=/usr/bin:/bin (\(noSwift.stdout)): the test would prove less")

        let bin = prefix.appendingPathComponent("bin/auth-doctor").path
        let version = try runProgram("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", bin, "--version"], env: [:], cwd: elsewhere)
        #expect(version.exitCode == 0, "\(version.stderr)")
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == toolVersion)

        let demo = try runProgram("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", bin, "diagnose", "admin@example.com", "--export", demoExport],
                           env: [:], cwd: elsewhere)
        #expect(demo.exitCode == 1, "stderr: \(demo.stderr)")
        #expect(demo.stderr.isEmpty)
        #expect(demo.stdout.contains("Verdict: problem at step 10, app.user.exists"))
        #expect(demo.stdout.contains("npx convex run users:syncFromAuth"))
        // ISA-L is optional at run time: zlib reads without it, and both read the same.
        for inflater in ["zlib"] + (Inflater.isalAvailable ? ["isal"] : []) {
            let again = try runProgram("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", "AUTH_DOCTOR_INFLATE=\(inflater)", bin, "diagnose", "admin@example.com",
                                                        "--export", demoExport], env: [:], cwd: elsewhere)
            #expect(again.exitCode == 1 && again.stdout == demo.stdout, "AUTH_DOCTOR_INFLATE=\(inflater): \(again.stderr)")
        }
    }

    @Test func binaryNeedsNoSwiftLibraries() throws {
        let prefix = try unpacked(try builtRelease())
        defer { try? FileManager.default.removeItem(at: prefix) }
        let ldd = try runProgram("ldd", [prefix.appendingPathComponent("bin/auth-doctor").path], env: minimalEnv)
        #expect(ldd.exitCode == 0, "ldd: \(ldd.stderr)")
        #expect(!ldd.stdout.contains("libswift"), "needs a Swift runtime library:\n\(ldd.stdout)")
        #expect(!ldd.stdout.contains("libFoundation") && !ldd.stdout.contains("libdispatch"), "\(ldd.stdout)")
        #expect(!ldd.stdout.contains("not found"), "\(ldd.stdout)")
        // What the README says the binary needs from the system.
        #expect(ldd.stdout.contains("libcurl.so.4") && ldd.stdout.contains("libz.so.1") && ldd.stdout.contains("libc.so.6"),
                "\(ldd.stdout)")
        // ISA-L is loaded with dlopen when present, never linked: the binary starts without it.
        #expect(!ldd.stdout.contains("libisal"), "\(ldd.stdout)")
    }

    @Test func manPageAndCompletionsDescribeTheCommands() throws {
        let prefix = try unpacked(try builtRelease())
        defer { try? FileManager.default.removeItem(at: prefix) }
        let share = prefix.appendingPathComponent("share")
        let man = try String(contentsOf: share.appendingPathComponent("man/man1/auth-doctor.1"), encoding: .utf8)
        for word in ["diagnose", "check-env", "audit", "--export", "--format"] {
            #expect(man.contains(word), "the man page does not mention \(word)")
        }
        let bash = share.appendingPathComponent("bash-completion/completions/auth-doctor").path
        #expect(try runProgram("bash", ["-n", bash]).exitCode == 0, "the bash completion does not parse")
        #expect(try String(contentsOfFile: bash, encoding: .utf8).contains("check-env"))
        let zsh = try String(contentsOf: share.appendingPathComponent("zsh/site-functions/_auth-doctor"), encoding: .utf8)
        #expect(zsh.hasPrefix("#compdef auth-doctor"))
        let fish = try String(contentsOf: share.appendingPathComponent("fish/vendor_completions.d/auth-doctor.fish"), encoding: .utf8)
        #expect(fish.contains("complete -c 'auth-doctor'"))
    }

    @Test func installScriptVerifiesAndIsIdempotent() throws {
        let rel = try builtRelease()
        let prefix = try tempDir("install")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let script = repoRoot.appendingPathComponent("scripts/install.sh").path
        let env = ["PATH": "/usr/bin:/bin", "HOME": prefix.path]

        let first = try runProgram("/bin/bash", [script, "--tarball", rel.tarball.path, "--prefix", prefix.path], env: env)
        #expect(first.exitCode == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("verified sha256"))
        #expect(first.stdout.contains("installed \(prefix.path)/bin/auth-doctor"))
        #expect(first.stdout.contains("auth-doctor \(toolVersion): \(prefix.path)/bin/auth-doctor"))
        #expect(first.stdout.contains("is not on PATH"), "says how to put it on PATH")

        let second = try runProgram("/bin/bash", [script, "--tarball", rel.tarball.path, "--prefix", prefix.path], env: env)
        #expect(second.exitCode == 0, "\(second.stdout)\n\(second.stderr)")
        #expect(second.stdout.contains("unchanged \(prefix.path)/bin/auth-doctor"))
        #expect(!second.stdout.contains("\ninstalled "), "a second run changed files:\n\(second.stdout)")
        #expect(second.stdout.contains("0 file(s) installed, 7 unchanged"))

        let demo = try runProgram("/usr/bin/env", ["-i", "PATH=\(prefix.path)/bin:/usr/bin:/bin", "auth-doctor", "diagnose", "admin@example.com",
                                            "--export", demoExport], env: [:])
        #expect(demo.exitCode == 1)
        #expect(demo.stdout.contains("Verdict: problem at step 10, app.user.exists"))
    }

    @Test func installScriptRefusesABadChecksum() throws {
        let rel = try builtRelease()
        let prefix = try tempDir("badsum")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let script = repoRoot.appendingPathComponent("scripts/install.sh").path
        let wrong = String(repeating: "0", count: 64)
        let r = try runProgram("/bin/bash", [script, "--tarball", rel.tarball.path, "--sha256", wrong, "--prefix", prefix.path], env: minimalEnv)
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("checksum mismatch for \(rel.tarball.path)"))
        #expect(r.stderr.contains("nothing was installed"))
        #expect(!FileManager.default.fileExists(atPath: prefix.appendingPathComponent("bin").path))

        // A tarball without its .sha256 beside it and no --sha256: refused before unpacking.
        let lone = try tempDir("lone")
        defer { try? FileManager.default.removeItem(at: lone) }
        let copy = lone.appendingPathComponent(rel.tarball.lastPathComponent)
        try FileManager.default.copyItem(at: rel.tarball, to: copy)
        let r2 = try runProgram("/bin/bash", [script, "--tarball", copy.path, "--prefix", prefix.path], env: minimalEnv)
        #expect(r2.exitCode == 2)
        #expect(r2.stderr.contains("no checksum for \(copy.path)"))
        #expect(!FileManager.default.fileExists(atPath: prefix.appendingPathComponent("bin").path))
    }

    // MARK: The composite action's shell steps, run locally as the runner would.

    private struct ActionRun {
        let result: RunResult
        let steps: [String: String]
        let workspace: URL
        let summary: String
        var log: String { result.stdout + result.stderr }

        /// The action's exit code and each step's outcome (`success`, `failure (exit N)`, `skipped`).
        func expect(exit: Int32, steps expected: [String: String], sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(result.exitCode == exit, "\(log)", sourceLocation: sourceLocation)
            for (name, outcome) in expected {
                #expect(steps[name] == outcome, "step \(name):\n\(log)", sourceLocation: sourceLocation)
            }
        }

        /// The env files hold production secrets: gone after the action, whatever happened.
        func expectEnvFilesRemoved(sourceLocation: SourceLocation = #_sourceLocation) {
            for file in ["convex.env", ".env.production"] {
                #expect(!FileManager.default.fileExists(atPath: workspace.appendingPathComponent(file).path), "\(file) left on disk",
                        sourceLocation: sourceLocation)
            }
        }
    }

    /// Runs action.yml's steps with scripts/action-steps.py against a workspace holding the demo env files.
    private func runAction(_ inputs: [String: String], hostingEnv: String? = nil) throws -> ActionRun {
        let workspace = try tempDir("workspace")
        let env = repoRoot.appendingPathComponent("Examples/env")
        try FileManager.default.copyItem(at: env.appendingPathComponent("convex-prod.env"),
                                         to: workspace.appendingPathComponent("convex.env"))
        let hosting = try hostingEnv ?? String(contentsOf: env.appendingPathComponent("vercel-production.env"), encoding: .utf8)
        try Data(hosting.utf8).write(to: workspace.appendingPathComponent(".env.production"))
        let inputsFile = workspace.appendingPathComponent("inputs.json").path
        try JSONSerialization.data(withJSONObject: inputs).write(to: URL(fileURLWithPath: inputsFile))
        let runnerTemp = try tempDir("runner")
        let r = try runProgram("python3", [repoRoot.appendingPathComponent("Tests/action-steps.py").path,
                                    repoRoot.appendingPathComponent("action.yml").path, inputsFile, runnerTemp.path],
                        cwd: workspace)
        var steps: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") where line.hasPrefix("step: ") {
            let parts = line.dropFirst(6).components(separatedBy: " => ")
            if parts.count == 2 { steps[parts[0]] = parts[1] }
        }
        let summary = (try? String(contentsOf: runnerTemp.appendingPathComponent("step-summary.md"), encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: runnerTemp)
        return ActionRun(result: r, steps: steps, workspace: workspace, summary: summary)
    }

    @Test func actionFailsTheJobOnAFailingCheckAndStillRemovesTheEnvFiles() throws {
        let rel = try builtRelease()
        let a = try runAction(["tarball": rel.tarball.path, "convex-env": "convex.env", "hosting-env": ".env.production", "prod": "true"])
        defer { try? FileManager.default.removeItem(at: a.workspace) }
        a.expect(exit: 1, steps: ["Install auth-doctor": "success", "Check the auth environment": "failure (exit 1)",
                                  "Remove the env files": "success"])
        let log = a.log
        #expect(a.result.stdout.contains("::error"), "one annotation per failing rule")
        #expect(a.result.stdout.contains("env.internal-api-secret"))
        #expect(a.summary.contains("env.internal-api-secret"), "the Markdown report goes to the step summary")
        #expect(!log.contains("rotated-in-convex-2026-11-20") && !log.contains("still-the-old-value-2026-10"), "a secret was printed")
        a.expectEnvFilesRemoved()
    }

    @Test func actionPassesOnAHealthyEnvironment() throws {
        let rel = try builtRelease()
        let hosting = try String(contentsOf: repoRoot.appendingPathComponent("Examples/env/vercel-production.env"), encoding: .utf8)
            .replacingOccurrences(of: "still-the-old-value-2026-10", with: "rotated-in-convex-2026-11-20")
        let sha = try String(contentsOf: rel.sha256File, encoding: .utf8).split(separator: " ")[0]
        let a = try runAction(["tarball": rel.tarball.path, "sha256": String(sha), "convex-env": "convex.env",
                               "hosting-env": "\n.env.production\n", "prod": "true"], hostingEnv: hosting)
        defer { try? FileManager.default.removeItem(at: a.workspace) }
        a.expect(exit: 0, steps: ["Install auth-doctor": "success", "Check the auth environment": "success", "Remove the env files": "success"])
        #expect(!a.result.stdout.contains("::error"), "\(a.log)")
        a.expectEnvFilesRemoved()
    }

    @Test func actionStopsOnABadChecksumAndStillCleansUp() throws {
        let rel = try builtRelease()
        let a = try runAction(["tarball": rel.tarball.path, "sha256": String(repeating: "a", count: 64),
                               "convex-env": "convex.env", "hosting-env": ".env.production"])
        defer { try? FileManager.default.removeItem(at: a.workspace) }
        a.expect(exit: 1, steps: ["Install auth-doctor": "failure (exit 2)", "Check the auth environment": "skipped",
                                  "Remove the env files": "success"])
        #expect(a.log.contains("checksum mismatch"))
        a.expectEnvFilesRemoved()
    }

    @Test func actionWithoutATarballSaysWhatToGive() throws {
        let a = try runAction(["convex-env": "convex.env"])
        defer { try? FileManager.default.removeItem(at: a.workspace) }
        a.expect(exit: 1, steps: ["Install auth-doctor": "failure (exit 2)", "Check the auth environment": "skipped"])
        #expect(a.result.stdout.contains("::error title=auth-doctor::give the action a release tarball"))
    }
}

// MARK: Every relative link in the docs resolves.

@Suite struct DocumentationLinks {
    /// GitHub's heading anchors: lowercased, punctuation other than `-` and `_` dropped, spaces to `-`.
    static func anchor(_ heading: String) -> String {
        var text = heading
        // Inline code and links keep their text.
        text = text.replacingOccurrences(of: "`", with: "")
        text = text.replacingOccurrences(of: #"\[([^\]]*)\]\([^)]*\)"#, with: "$1", options: .regularExpression)
        var out = ""
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber || ch == "-" || ch == "_" { out.append(ch) } else if ch == " " { out.append("-") }
        }
        return out
    }

    static func anchors(in markdown: String) -> Set<String> {
        var seen: [String: Int] = [:]
        var result = Set<String>()
        var inFence = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inFence.toggle(); continue }
            guard !inFence, line.hasPrefix("#") else { continue }
            let title = line.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces)
            let base = anchor(title)
            let n = seen[base, default: 0]
            seen[base] = n + 1
            result.insert(n == 0 ? base : "\(base)-\(n)")
        }
        return result
    }

    /// `[text](target)` links outside code fences and inline code.
    static func links(in markdown: String) -> [(line: Int, target: String)] {
        var result: [(Int, String)] = []
        var inFence = false
        let pattern = try! NSRegularExpression(pattern: #"\]\(([^)\s]+)(?:\s+"[^"]*")?\)"#)
        for (i, line) in markdown.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("```") { inFence.toggle(); continue }
            if inFence { continue }
            let text = String(line).replacingOccurrences(of: "`[^`]*`", with: "", options: .regularExpression)
            let ns = text as NSString
            for m in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
                result.append((i + 1, ns.substring(with: m.range(at: 1))))
            }
        }
        return result
    }

    @Test func anchorsFollowGitHub() {
        #expect(Self.anchor("Install") == "install")
        #expect(Self.anchor("### A live deployment (`--url`)".drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces))
                == "a-live-deployment---url")
        #expect(Self.anchor("Config: `auth-doctor.yaml`") == "config-auth-doctoryaml")
        #expect(Self.anchors(in: "# A\n## A\n```\n# not\n```\n") == ["a", "a-1"])
    }

    @Test func everyRelativeLinkResolves() throws {
        let docs = try FileManager.default.contentsOfDirectory(atPath: repoRoot.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.map { "docs/" + $0 }
        var checked = 0
        for file in ["README.md"] + docs.sorted() {
            let url = repoRoot.appendingPathComponent(file)
            let text = try String(contentsOf: url, encoding: .utf8)
            for (line, target) in Self.links(in: text) {
                if target.contains("://") || target.hasPrefix("mailto:") { continue }
                checked += 1
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let path = parts[0].removingPercentEncoding ?? parts[0]
                let dest = path.isEmpty ? url : url.deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL
                #expect(FileManager.default.fileExists(atPath: dest.path), "\(file):\(line): \(target) does not exist")
                if parts.count == 2, dest.pathExtension == "md", FileManager.default.fileExists(atPath: dest.path) {
                    let headings = Self.anchors(in: try String(contentsOf: dest, encoding: .utf8))
                    #expect(headings.contains(parts[1]), "\(file):\(line): \(target): no heading #\(parts[1]) in \(dest.lastPathComponent)")
                }
            }
        }
        #expect(checked > 5, "the link scanner found only \(checked) links")
    }
}
