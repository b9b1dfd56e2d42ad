"""dipwire: live newswire in, coded diplomatic events out, over Kafka."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dipwire")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+local"
