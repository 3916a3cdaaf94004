from rest_framework import serializers

from apps.integrations.models import Environment, ProviderKey


class ConnectionSetupInput(serializers.Serializer):
    """Like `manage.py integrations setup`: credentials and settings are parsed by the provider's
    declarations (`manage.py integrations describe PROVIDER`); unknown keys are refused."""

    provider = serializers.ChoiceField(choices=ProviderKey.choices)
    name = serializers.CharField(max_length=100)
    environment = serializers.ChoiceField(choices=Environment.choices, required=False)
    api_base_url = serializers.CharField(max_length=200, required=False, allow_blank=True)
    external_account_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    credentials = serializers.DictField(
        required=False, help_text="Merged into the stored credentials; never returned in full."
    )
    settings = serializers.DictField(
        required=False, help_text="Merged into the settings; a null value resets a key."
    )


class ConnectionSetupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.BooleanField()
    provider = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    environment = serializers.CharField()
    api_base_url = serializers.CharField()
    external_account_id = serializers.CharField()
    credentials = serializers.DictField(
        child=serializers.CharField(), help_text="Masked: the last four characters at most."
    )
    settings = serializers.DictField()
    schedules = serializers.ListField(child=serializers.CharField())
