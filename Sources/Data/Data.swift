// `Data` target — see DESIGN.md.
