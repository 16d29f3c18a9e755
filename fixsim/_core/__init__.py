"""The numeric core: numerictype, fimath, fi, result-type rules and numpy dispatch."""
