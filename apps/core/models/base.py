from django.db import models


class BusinessScopedQuerySet(models.QuerySet):
    def for_business(self, business):
        """The only sanctioned way to read tenant rows: everything below starts from a business."""
        return self.filter(business=business)


class BusinessOwned(models.Model):
    """Every tenant row carries its business, so one filter scopes any query."""

    business = models.ForeignKey("core.Business", on_delete=models.CASCADE, related_name="+")

    objects = BusinessScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class Timestamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Address(models.Model):
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / region", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US", help_text="ISO 3166-1 alpha-2")

    class Meta:
        abstract = True

    @property
    def address_one_line(self) -> str:
        parts = [
            self.address_line1,
            self.address_line2,
            self.city,
            f"{self.region} {self.postal_code}".strip(),
        ]
        return ", ".join(p for p in parts if p)
