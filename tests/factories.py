"""factory_boy factories. Every tenant foreign key derives from one business, so objects agree."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from apps.core import models as m
from apps.integrations import models as im


class BusinessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Business
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Business {n}")
    slug = factory.Sequence(lambda n: f"business-{n}")
    timezone = "America/Denver"
    main_phone = "+13035550100"
    emergency_phone = "+13035550199"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.User
        skip_postgeneration_save = True

    business = factory.SubFactory(BusinessFactory)
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Smith{n}")
    role = m.Role.DISPATCHER
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ServiceCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ServiceCategory
        django_get_or_create = ("business", "code")

    business = factory.SubFactory(BusinessFactory)
    code = "hvac"
    name = "HVAC"
    revenue_category = "HVAC service revenue"


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Skill

    business = factory.SubFactory(BusinessFactory)
    code = factory.Sequence(lambda n: f"skill-{n}")
    name = factory.Sequence(lambda n: f"Skill {n}")


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Part

    business = factory.SubFactory(BusinessFactory)
    sku = factory.Sequence(lambda n: f"P-{n:05d}")
    name = "Capacitor 45/5 uF"
    unit_price = Decimal("38.50")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Customer

    business = factory.SubFactory(BusinessFactory)
    display_name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = "+13035550123"
    address_line1 = "1200 Pearl St"
    city = "Denver"
    region = "CO"
    postal_code = "80203"


class ServiceLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ServiceLocation

    customer = factory.SubFactory(CustomerFactory)
    business = factory.LazyAttribute(lambda o: o.customer.business)
    label = "Home"
    address_line1 = "1200 Pearl St"
    city = "Denver"
    region = "CO"
    postal_code = "80203"
    latitude = Decimal("39.737600")
    longitude = Decimal("-104.980000")


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Equipment

    location = factory.SubFactory(ServiceLocationFactory)
    business = factory.LazyAttribute(lambda o: o.location.business)
    kind = m.EquipmentKind.AIR_CONDITIONER
    manufacturer = "Carrier"
    model_number = "24ACC636A003"
    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    refrigerant = m.Refrigerant.R410A
    install_date = dt.date(2019, 5, 1)
    warranty_expires = dt.date(2029, 5, 1)


class TechnicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Technician

    business = factory.SubFactory(BusinessFactory)
    user = factory.SubFactory(
        UserFactory, business=factory.SelfAttribute("..business"), role=m.Role.TECHNICIAN
    )
    phone = "+13035550142"
    home_latitude = Decimal("39.700000")
    home_longitude = Decimal("-105.000000")


class WorkOrderFactory(factory.django.DjangoModelFactory):
    """Created directly (status NEW); tests that need other statuses walk the real transitions."""

    class Meta:
        model = m.WorkOrder

    location = factory.SubFactory(ServiceLocationFactory)
    business = factory.LazyAttribute(lambda o: o.location.business)
    customer = factory.LazyAttribute(lambda o: o.location.customer)
    category = factory.LazyAttribute(lambda o: ServiceCategoryFactory(business=o.business))
    number = factory.Sequence(lambda n: f"WO-T{n:05d}")
    summary = "No cooling upstairs"
    arrival_window_start = factory.LazyFunction(
        lambda: timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)
    )
    arrival_window_end = factory.LazyAttribute(
        lambda o: o.arrival_window_start + dt.timedelta(hours=2)
    )


class LineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.LineItem

    work_order = factory.SubFactory(WorkOrderFactory)
    business = factory.LazyAttribute(lambda o: o.work_order.business)
    kind = m.LineItem.Kind.SERVICE
    description = "Diagnostic visit"
    quantity = Decimal("1")
    unit_price = Decimal("89.00")


class IntegrationConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = im.IntegrationConnection

    business = factory.SubFactory(BusinessFactory)
    provider = im.ProviderKey.QUICKBOOKS
    name = factory.Sequence(lambda n: f"Books {n}")
    credentials = factory.LazyFunction(
        lambda: {
            "client_id": "ABcdEFghIJklMNop1234",
            "client_secret": "s3cr3t-value-do-not-leak-9876",
        }
    )
