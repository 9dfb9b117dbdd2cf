"""Browser pieces Streamlit does not have, served from this package (no build step, no CDN)."""
