import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.routing.planning.policy import policy


def test_policy_overrides_come_from_settings(settings):
    settings.ROUTING_POLICY = {"replan_seconds": 0.5}
    assert policy().replan_seconds == 0.5


def test_unknown_policy_key_is_a_clear_configuration_error(settings):
    settings.ROUTING_POLICY = {"replan_secs": 0.5}
    with pytest.raises(ImproperlyConfigured, match="unknown keys \\['replan_secs'\\]"):
        policy()
