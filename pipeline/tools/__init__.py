"""Tools beside the data path: audit, benchmark, evaluation, gazetteer builder."""
