"""Redis adapters: the read-model store (``store``) and reading the read models (``views``)."""
