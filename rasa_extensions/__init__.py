"""LayanWarga's additions to Rasa that are not channels.

Plug-ins Rasa loads by name: from endpoints.yml the tracker store
(``rasa_extensions.tracker_store.LayanWargaTrackerStore``) and the analytics event broker
(``rasa_extensions.event_broker.MaskingPikaEventBroker``); from config.yml the policies
(``rasa_extensions.policies``: Rasa's RulePolicy, MemoizationPolicy and TEDPolicy handed only
their recent states, TED spared where a rule or story is certain) and the spaCy loader
(``rasa_extensions.spacy_model.SharedSpacyNLP``: one pipeline for both its graph nodes).

Performance patches to Rasa (``rasa_extensions.patches``): switched on explicitly, by
``python -m rasa_extensions <rasa arguments>``, Rasa's command line with the patches, which
the project uses wherever it starts ``rasa run`` or ``rasa test``. Importing this package or
any plug-in patches nothing; the config.yml components take their shortcuts only while the
patches are switched on, and otherwise answer as their Rasa parents.
"""
