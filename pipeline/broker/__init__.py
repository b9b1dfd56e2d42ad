"""The broker side: the embedded broker, its quirks, topics, the clients and their security.

``embedded`` runs the Tansu process behind the relay of ``front``; ``quirks``
holds each workaround the embedded broker needs, with the quirk it answers;
``admin`` creates topics and waits for a Kafka to answer; ``clients`` is the
one group-less reader and the one producer of the CLI and the tools;
``security`` maps the security settings to client options. None of them
imports ``pipeline.tools`` or the stages.
"""
