"""Alert delivery channels: Slack incoming webhooks and email."""
