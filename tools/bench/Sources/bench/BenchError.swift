//! Why a run stops: a wrong answer or a failing engine is a real failure (exit 1); a missed
//! target never is.

/// A failure that stops the run.
struct BenchError: Error, CustomStringConvertible {
    /// What happened, with the engine and phase.
    var description: String

    init(_ description: String) { self.description = description }

    /// A value read back does not match the generator's: the run's figures would be meaningless.
    static func wrongAnswer(_ engine: String, _ phase: String, _ detail: String) -> BenchError {
        BenchError("WRONG ANSWER from \(engine) in \(phase): \(detail)")
    }

    /// An engine's C API reported an error.
    static func engine(_ engine: String, _ call: String, _ detail: String) -> BenchError {
        BenchError("\(engine): \(call) failed: \(detail)")
    }
}
