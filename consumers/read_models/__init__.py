"""Redis read models: what the API and the lab's screens read, projected from the event topics.

See ``keys`` for the key patterns and fields, ``projection`` for how each event lands, ``ops``
for the operations (and the port a store implements), ``handler`` for the batched consumer and
``rebuild`` for building them again from the topics alone.
"""
