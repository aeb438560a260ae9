// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "auth-doctor",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "auth-doctor", targets: ["auth-doctor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // scrypt for --check-password (CryptoExtras' KDF.Scrypt, BoringSSL underneath).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
    ],
    targets: [
        // Facts, rules, expression language, engine, report model, redaction. No I/O.
        // JWKS private keys are checked with swift-crypto (XChaCha20-Poly1305 from ChaCha20-Poly1305, SHA-256).
        .target(name: "AuthDoctorCore", dependencies: [.product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")]),
        // memmem/memrchr for the byte-level prefilter; zlib's crc32 for zip checksums; audit's field scanner (cscan_fields).
        .target(name: "CScan", linkerSettings: [.linkedLibrary("z")]),
        // The export reader's raw-deflate inflaters: zlib (linked) and Intel ISA-L (libisal, loaded with dlopen at run
        // time so the binary starts without it and falls back to zlib; its header is needed to build).
        .target(name: "CInflate", cSettings: [.unsafeFlags(["-I/opt/homebrew/include", "-I/usr/local/include"], .when(platforms: [.macOS]))],
                linkerSettings: [.linkedLibrary("z"), .linkedLibrary("dl", .when(platforms: [.linux]))]),
        // libcurl for live mode: no redirects, a hard deadline, capped answers (DESIGN §13.8).
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]),
        // Export (zip or folder) reading, config and env files, the live deployment client.
        .target(name: "AuthDoctorSources", dependencies: [
            "AuthDoctorCore", "CScan", "CInflate", "CCurl", .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], swiftSettings: [
            // The table scans touch their buffers millions of times: the release build skips the dynamic exclusivity
            // checks there (debug builds and the tests keep them).
            .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
        ]),
        // One renderer per output format.
        .target(name: "AuthDoctorReport", dependencies: ["AuthDoctorCore"]),
        // The application layer: a request (diagnose, audit, check-env, jwt, probe) in, an outcome out: config,
        // rules, keys, sources, the secrets union, what is printed and the exit status.
        .target(name: "AuthDoctorApp", dependencies: ["AuthDoctorCore", "AuthDoctorSources", "AuthDoctorReport"]),
        // Thin CLI: one file per command, parsing and printing.
        .executableTarget(name: "auth-doctor", dependencies: [
            "AuthDoctorCore", "AuthDoctorSources", "AuthDoctorReport", "AuthDoctorApp",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The benchmark's inflate floor (Benchmarks/run.py): the same zip library, inflating and discarding.
        .executableTarget(name: "inflate-floor", dependencies: ["AuthDoctorSources"], path: "Benchmarks/InflateFloor"),
        .executableTarget(name: "rule-eval", dependencies: ["AuthDoctorCore"], path: "Benchmarks/RuleEval"),
        .testTarget(name: "AuthDoctorTests", dependencies: [
            "AuthDoctorCore", "AuthDoctorSources", "AuthDoctorReport", "AuthDoctorApp", "auth-doctor", "CInflate",
            // Signs the tokens the `jwt` tests check (Ed25519, P-256, RSA).
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
