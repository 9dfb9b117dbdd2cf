"""The common secure-by-design framework and upstream catalogues, as versioned data."""
