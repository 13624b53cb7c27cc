"""Actions run when the controller switches a stage: http, jeedom, mqtt, command, homeassistant.

``registry.build_stage_actions`` parses a stage's ``on`` / ``off`` tables into actions;
``runner.ActionRunner`` runs them off the control loop, one stage at a time, and reports an
``ActionOutcome`` for each.
"""
