"""Self-consumption controller: pure step function, its state and the delivery of its intents.

``controller.step(settings, state, reading, now) -> (state, commands)`` decides (``now``: an
``Instant``, wall and monotonic time); ``delivery`` confirms or reschedules each command's intent;
``settings`` (``ControlSettings.from_mapping``) and ``state`` (``ControllerState``, versioned JSON
round trip) are frozen values; ``enphase_secure.actions`` runs the commands.
"""
