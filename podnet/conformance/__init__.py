"""netpol-analyzer's public corpus, run through podnet's own command line.

Two sets: the flat ``expected/<case>.txt`` connection lists (``flat``) and ``cases.json``, every
golden of netpol-analyzer's test tables in every format (``cases``).
"""
