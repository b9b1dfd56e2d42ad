"""Stages: pure stage objects (validate, nlp) and the thin Faust agents around them."""
