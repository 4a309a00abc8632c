"""hn-wait: wait until a Hypernode Logbook flow has finished, and exit with its outcome."""

__version__ = "0.1.0"
