"""One module per cluster kind behind the protocol in :mod:`providers.clouds.base`."""
