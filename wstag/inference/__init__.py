"""Using a trained model: the ``Grounder`` (``grounder.py``; also ``from wstag import
Grounder``), what it returns (``results.py``), the checks on phrases and options
(``queries.py``), output formats (``formats.py``), the grounding figure (``plot.py``)
and evaluation's pair scoring (``scoring.py``)."""
