"""Workflows that span steps or pillars; each takes validated settings and returns results; the CLI
calls one recipe per verb; imports run core ← pillars ← recipes ← cli."""
