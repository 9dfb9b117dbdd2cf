"""Streamlit pages: they render and collect input, and call services for everything else."""
