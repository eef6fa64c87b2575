"""What a run shows: ``text`` (the terminal report and the one table renderer),
``plots`` (the figures), ``files`` (clusters.csv and summary.json)."""
