"""The broker side: the embedded Kafka-compatible broker and the pipeline's clients."""
