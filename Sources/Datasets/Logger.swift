import Logging

/// The datasets module's log (label `lacoot.datasets`): each set loaded (name, image count and
/// shape, folder) at `info`, what is about to be read at `debug`.
let logger = Logger(label: "lacoot.datasets")
