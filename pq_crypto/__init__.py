"""Post-quantum primitives behind one small interface, and the algorithm policy catalogue."""
