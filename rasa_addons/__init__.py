"""Custom Rasa 3.6 graph components for AfterClass (imported by the Rasa env, Python 3.10).

config.yml names them by module path, e.g.
``rasa_addons.sentence_featurizer.SentenceEmbeddingFeaturizer``; bot/rasa_env.py puts the
repository root on PYTHONPATH so every Rasa process it starts can import this package.
Keep this file free of heavy imports: Rasa imports it while reading the config.
"""
