"""Self-consumption controller: pure step function and its state.

``controller.step(settings, state, reading, now) -> (state, commands)`` decides; ``settings``
(``ControlSettings.from_mapping``) and ``state`` (``ControllerState``, JSON round trip) are frozen
values; ``enphase_secure.actions`` runs the commands.
"""
