import Logging

/// The algorithm's log (label `lacoot.collapse`): each collapse decision (block, accuracy,
/// kept or not) at `debug`, the outcome at `info`.
let logger = Logger(label: "lacoot.collapse")
