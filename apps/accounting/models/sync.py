from django.contrib.contenttypes.models import ContentType
from django.db import models

from apps.core.labels import readable
from apps.core.models import BusinessOwned
from apps.core.timezones import format_local
from apps.integrations.models import IntegrationConnection, SyncLog


class SyncCursor(BusinessOwned):
    """How far an incremental pull has read, per connection and resource (vendor time)."""

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="accounting_cursors"
    )
    resource = models.CharField(max_length=30)
    position = models.DateTimeField(
        help_text="Changes up to this vendor time have been read; the next pull starts a little "
        "earlier (the overlap window) so a late-committed change is never skipped."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "resource"], name="sync_cursor_unique")
        ]

    def __str__(self) -> str:
        return f"{readable(self.resource)} up to {format_local(self.position, 'Y-m-d g:i:s A T')}"


class AccountingWrite(BusinessOwned):
    """The outbox: one row per write we owe a vendor, carrying its idempotency key.

    The key (QuickBooks `requestid`, Xero `Idempotency-Key`) is derived from the connection, the
    record, the action and a revision, and stored before the request goes out. A retry after a
    timeout or a killed worker re-sends the same request under the same key (and, for a batch, in
    the same batch), so the vendor answers with the original result instead of creating twice.
    """

    class Entity(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        ITEM = "item", "Item"
        INVOICE = "invoice", "Invoice"
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"
        AGREEMENT = "agreement", "Agreement payment"

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        VOID = "void", "Void"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sent, answer not recorded yet"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="accounting_writes"
    )
    entity = models.CharField(max_length=10, choices=Entity.choices)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.CREATE)
    object_id = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True, help_text="e.g. INV-000123")
    revision = models.PositiveIntegerField(
        default=1, help_text="Bumped when a failed write is retried after the data was fixed."
    )
    idempotency_key = models.CharField(max_length=64)
    request_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The request id actually sent: this write's key, or its batch's key "
        "(a batch item's id is the write's primary key).",
    )
    payload_hash = models.CharField(
        max_length=64, blank=True, help_text="What was written, for items: skip unchanged ones."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    remote_id = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    vendor_code = models.CharField(max_length=50, blank=True)
    sync_log = models.ForeignKey(
        SyncLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "idempotency_key"], name="accounting_write_key_unique"
            ),
            models.UniqueConstraint(
                fields=["connection", "entity", "object_id", "action", "revision"],
                name="accounting_write_revision_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["connection", "status", "entity"]),
            models.Index(fields=["connection", "request_id"]),
        ]

    def __str__(self) -> str:
        what = f"{self.get_action_display()} {self.get_entity_display().lower()}"
        return f"{what} {self.label or self.object_id} ({self.get_status_display().lower()})"


class WriteStep(BusinessOwned):
    """A finished first step of a two-request write (Xero: the credit note or invoice before its
    payment), keyed by our record and the step rather than by revision: any retry of the write
    (automatic, a person's, after a crash) finds it and sends only what is still owed."""

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="accounting_write_steps"
    )
    entity = models.CharField(max_length=10, choices=AccountingWrite.Entity.choices)
    object_id = models.CharField(max_length=64)
    step = models.CharField(max_length=30, help_text="e.g. credit_note, invoice")
    remote_id = models.CharField(max_length=100)
    idempotency_key = models.CharField(max_length=64, help_text="The key the step was sent under.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity", "object_id", "step"],
                name="accounting_write_step_unique",
            )
        ]

    def __str__(self) -> str:
        step = readable(self.step).lower()
        return f"{self.get_entity_display()} {self.object_id} {step} \u2192 {self.remote_id}"


class OverwriteAudit(BusinessOwned):
    """A value that lost under "last modified wins": what it was, what replaced it, and why."""

    class Winner(models.TextChoices):
        REMOTE = "remote", "The vendor's value won"
        LOCAL = "local", "Our value won"

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="accounting_overwrites"
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(max_length=64)
    object_label = models.CharField(max_length=200, blank=True)
    remote_id = models.CharField(max_length=100)
    field = models.CharField(max_length=50)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    winner = models.CharField(max_length=6, choices=Winner.choices)
    conflict = models.BooleanField(
        default=False, help_text="Both sides had changed since the last sync; the later edit won."
    )
    local_modified_at = models.DateTimeField(null=True, blank=True)
    remote_modified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["connection", "content_type", "object_id"])]

    def __str__(self) -> str:
        what = f"{self.object_label or self.object_id}, {readable(self.field).lower()}"
        return f"{what}: {self.old_value!r} \u2192 {self.new_value!r}"
