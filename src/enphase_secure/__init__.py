"""enphase-secure: local reader, recorder and controller for Enphase IQ Gateways."""

__version__ = "0.1.0"
