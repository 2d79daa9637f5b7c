// `Models` target — see DESIGN.md.
