"""Who: the actor gazetteer, PETRARCH-format actor dictionaries and the actor coder."""
