// `NN` target — see DESIGN.md.
