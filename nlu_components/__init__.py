"""Indonesian text handling for LayanWarga's Rasa NLU pipeline.

- ``spacy_model``: saves the blank spaCy ``id`` pipeline that ``SpacyNLP`` loads.
- ``text_normalizer``: plain-Python word normaliser (colloquial lexicon, reduplication,
  letter squeezing, Sastrawi stemming); no Rasa import, so it is cheap to test and reuse.
- ``normalizer``: the Rasa graph component that writes the normalised form into
  ``Token.lemma`` after the tokenizer.
"""
