from django.db import models

from organization.models import Location, Team


class Channel(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    WEB = "web", "Website"
    APP = "app", "Mobile app"
    CHAT = "chat", "Chat"
    SOCIAL = "social", "Social media"
    POST = "post", "Letter / post"
    INTERNAL = "internal", "Internal (between departments)"


class JourneyStage(models.TextChoices):
    DISCOVER = "discover", "Discover"
    BUY = "buy", "Choose and buy"
    RECEIVE = "receive", "Receive / delivery"
    USE = "use", "Use"
    GET_HELP = "get_help", "Get help"
    PAY = "pay", "Pay / billing"
    RETURN = "return", "Return or leave"


class CustomerKind(models.TextChoices):
    EXTERNAL = "external", "External customer"
    INTERNAL = "internal", "Internal customer (another team)"


class Touchpoint(models.Model):
    """A place where a customer, external or internal, meets the organisation."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(
        max_length=80, unique=True, help_text="Used in the public feedback link, e.g. checkout-till."
    )
    description = models.TextField(blank=True)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    journey_stage = models.CharField(max_length=20, choices=JourneyStage.choices)
    customer_kind = models.CharField(
        max_length=10, choices=CustomerKind.choices, default=CustomerKind.EXTERNAL
    )
    owner_team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_touchpoints",
        help_text="The team accountable for this touchpoint. A touchpoint without an owner is flagged.",
    )
    locations = models.ManyToManyField(
        Location,
        blank=True,
        related_name="touchpoints",
        help_text="Where this touchpoint exists. Leave empty if it exists at every location.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["journey_stage", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__in=Channel.values), name="touchpoint_channel_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(journey_stage__in=JourneyStage.values), name="touchpoint_stage_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(customer_kind__in=CustomerKind.values),
                name="touchpoint_customer_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name
