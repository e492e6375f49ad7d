"""The shared look of every panel (``style``) and the summaries the notebooks draw (``summary``)."""
