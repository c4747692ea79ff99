"""Reliability engine: lifetimes from state histories, censored maximum-likelihood fits, and
condition-based failure risk. Depends only on ``factoryos.model``; lifelines and scikit-learn stay
in here."""
