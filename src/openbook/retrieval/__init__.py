"""Retrieval: writing documents into an index (``retriever.Retriever.add``) and the read path that finds the passages
answering a question: ``dense`` and ``lexical`` searchers, ``fusion``, and ``search.Searcher`` that ties them."""
