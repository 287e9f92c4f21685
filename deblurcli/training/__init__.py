"""Training: typed config (``config``), losses per paper (``losses``), the loop (``loop``), export."""
