"""What happened: the CAMEO codebook, the verb lexicon and the event coder."""
