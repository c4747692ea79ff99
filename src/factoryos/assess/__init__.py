"""Maturity assessment (GB/T 39116/39117), measured gains, robot density and the programme view
across many factories. Pure: depends only on ``factoryos.model``."""
