// `LaCoOT` target — see DESIGN.md.
