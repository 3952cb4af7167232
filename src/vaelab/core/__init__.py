"""Core services every stage uses: errors, atomic files."""
