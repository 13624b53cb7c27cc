"""IQ Gateway client: HTTPS session, token lifecycle, one reader per endpoint family."""
