import Logging

/// The workflow's log (label `lacoot.training`): checkpoints written at `debug`, a run resumed
/// at `info`, a run stopped by cancellation or divergence at `notice`/`error`.
let logger = Logger(label: "lacoot.training")
