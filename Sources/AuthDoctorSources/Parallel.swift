import Dispatch
import Foundation

/// Runs independent jobs on the machine's cores (the biggest first, as given), and rethrows the first error. After
/// an error, jobs not yet started are not started: the run fails anyway.
enum Parallel {
    final class Box: @unchecked Sendable {
        let jobs: [() throws -> Void]
        var errors: [Int: Error] = [:]
        let lock = NSLock()
        init(_ jobs: [() throws -> Void]) { self.jobs = jobs }
    }

    static func run(_ jobs: [() throws -> Void]) throws {
        if jobs.count <= 1 || ProcessInfo.processInfo.activeProcessorCount < 2 {
            for job in jobs { try job() }
            return
        }
        let box = Box(jobs)
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            box.lock.lock()
            let failed = !box.errors.isEmpty
            box.lock.unlock()
            if failed { return }
            do {
                try box.jobs[i]()
            } catch {
                box.lock.lock()
                box.errors[i] = error
                box.lock.unlock()
            }
        }
        if let first = box.errors.keys.min(), let error = box.errors[first] { throw error }
    }
}
