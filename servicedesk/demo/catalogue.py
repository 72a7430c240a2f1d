"""The demo organisation as data: a high-street retailer with stores in two regions and a head
office that runs the contact centre, logistics and the IT service desk.

Nothing here touches the database; `builder` and `evidence` turn it into rows. Days are counted
back from the anchor date of the run (`--until`), so the demo always looks current.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cases.models import CaseOrigin, CaseStatus, Severity
from consequences.models import Action, Condition, SubjectKind
from gap_analysis.models import ActionStatus, AssessmentStatus, Dimension
from measurement.models import PeriodKind, Source
from organization.models import Role
from standards.models import Comparator, MeasureKind, Status
from touchpoints.models import Channel, CustomerKind, JourneyStage
from training.models import Audience, DeliveryMethod

DEMO_PASSWORD = "servicedesk-demo"
EMAIL_DOMAIN = "example.com"

# --- Sites ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    region: str
    # Shifts the log-odds of every pass at this site: > 0 a strong site, < 0 a weak one.
    quality: float
    # How much that shift changes from the first day of the window to the last.
    trend: float = 0.0
    # Evidence per day as a multiple of --observations-per-day and --feedback-per-day: a flagship
    # is measured more than an ordinary store (1), a kiosk far less.
    volume: float = 1.0
    # Share of the deviations older than DEVIATION_CLOSE_AFTER_DAYS closed by a corrective action.
    closes_deviations: float = 0.9


REGIONS = ("London & South", "North")

# The contact centre's agents take phone calls, emails and chats all day, and their team lead
# QA-reviews a sample of them: high volume, a good share of it from QA reviews (QA_REVIEW_SHARE).
HEAD_OFFICE = SiteSpec(
    "HQ-01", "Head office & contact centre", REGIONS[0], quality=0.3, trend=0.1, volume=1.8
)

# The first stores alternate between the regions, so even a small demo has both, the strongest
# store (the first, a flagship the demo manager runs) and the weakest (the second). The six of
# the default demo each play a part in the story the dashboards tell (DEMO_ROLES).
STORES = (
    SiteSpec("LDN-01", "London Oxford Street", REGIONS[0], quality=1.1, volume=2.0),
    SiteSpec("MAN-01", "Manchester Arndale", REGIONS[1], quality=-1.0, closes_deviations=0.3),
    # A new store manager from the spring: a clear turnaround.
    SiteSpec("LDN-02", "London Canary Wharf", REGIONS[0], quality=-0.8, trend=1.6, closes_deviations=0.7),
    # Two experienced team leaders left: service slips week after week.
    SiteSpec("LDS-01", "Leeds Trinity", REGIONS[1], quality=0.7, trend=-1.4),
    # A seasonal pop-up: only the odd mystery shop and audit are recorded there.
    SiteSpec("WIN-01", "Winchester Brooks pop-up", REGIONS[0], quality=0.2, volume=0.01),
    SiteSpec("MAN-02", "Manchester Piccadilly station kiosk", REGIONS[1], quality=0.1, volume=0.2),
    SiteSpec("GLA-01", "Glasgow Buchanan Street", REGIONS[1], quality=-0.2, trend=0.2, closes_deviations=0.7),
    SiteSpec("BRI-01", "Bristol Cabot Circus", REGIONS[0], quality=0.5, volume=1.2),
    SiteSpec("NCL-01", "Newcastle Eldon Square", REGIONS[1], quality=-0.3, volume=0.8, closes_deviations=0.7),
    SiteSpec("BTN-01", "Brighton Churchill Square", REGIONS[0], quality=0.2, volume=0.8),
    SiteSpec("LIV-01", "Liverpool ONE", REGIONS[1], quality=-0.1, volume=1.2, closes_deviations=0.7),
    SiteSpec("CAM-01", "Cambridge Grand Arcade", REGIONS[0], quality=0.6, volume=0.8),
    SiteSpec("EDI-01", "Edinburgh Princes Street", REGIONS[1], quality=0.4, volume=1.2),
    SiteSpec("SOU-01", "Southampton WestQuay", REGIONS[0], quality=0.0),
)
MAX_STORES = 50  # beyond the named stores, numbered ones fill up (STR-15 …); names stay unique

# Which store of the default demo (six stores) shows what, over the last 30 days of the evidence:
# the weakest (below the funnel's 99.8 % lower limit, deviations of non-negotiable standards left
# open, an overdue gap action), the strongest, one improving and one declining week after week,
# and one with too little evidence to judge (fewer than MIN_EVIDENCE observations).
DEMO_ROLES = {
    "strongest": STORES[0].code,
    "weakest": STORES[1].code,
    "improving": STORES[2].code,
    "declining": STORES[3].code,
    "small": STORES[4].code,
}


def store_spec(position: int) -> SiteSpec:
    """The store at `position` (1-based): a named one, or a numbered one past the named list."""
    if position <= len(STORES):
        return STORES[position - 1]
    # Numbered stores spread evenly around average quality and volume, deterministically.
    quality = ((position * 37) % 11 - 5) / 10
    return SiteSpec(
        f"STR-{position:02d}",
        f"Store {position}",
        REGIONS[position % 2],
        quality=quality,
        volume=0.8 + (position % 5) / 10,
        closes_deviations=0.9 if quality >= 0 else 0.7,
    )


# --- Teams and people ----------------------------------------------------------------------


@dataclass(frozen=True)
class TeamSpec:
    key: str
    name: str


STORE_TEAMS = (TeamSpec("floor", "Shop floor"), TeamSpec("tills", "Tills & returns"))
HEAD_OFFICE_TEAMS = (
    TeamSpec("retail_ops", "Retail operations"),
    TeamSpec("contact", "Contact centre"),
    TeamSpec("logistics", "Logistics"),
    TeamSpec("it", "IT service desk"),
)


@dataclass(frozen=True)
class PersonSlot:
    slot: int  # position within the site; with the site's index it makes the employee number
    job_title: str
    role: str = Role.STAFF
    team: str = ""  # team key; "" for someone who belongs to no team
    leads_team: bool = False  # a team lead: one of the team's managers
    manages: str = ""  # "site": manages their location; "region": every store of `region`
    region: str = ""


STORE_ROSTER = (
    PersonSlot(1, "Store manager", Role.MANAGER, manages="site"),
    PersonSlot(2, "Team leader, shop floor", Role.MANAGER, "floor", leads_team=True),
    PersonSlot(3, "Sales advisor", team="floor"),
    PersonSlot(4, "Sales advisor", team="floor"),
    PersonSlot(5, "Visual merchandiser", team="floor"),
    PersonSlot(6, "Team leader, tills & returns", Role.MANAGER, "tills", leads_team=True),
    PersonSlot(7, "Cashier", team="tills"),
    PersonSlot(8, "Cashier", team="tills"),
    PersonSlot(9, "Returns advisor", team="tills"),
)
HEAD_OFFICE_ROSTER = (
    PersonSlot(1, "Service programme lead", Role.ADMIN),
    PersonSlot(2, "Regional manager", Role.MANAGER, manages="region", region=REGIONS[0]),
    PersonSlot(3, "Regional manager", Role.MANAGER, manages="region", region=REGIONS[1]),
    PersonSlot(4, "Head of retail operations", Role.MANAGER, "retail_ops", leads_team=True),
    PersonSlot(5, "People & HR advisor", team="retail_ops"),
    PersonSlot(6, "Contact centre manager", Role.MANAGER, "contact", leads_team=True),
    PersonSlot(7, "Customer service agent", team="contact"),
    PersonSlot(8, "Customer service agent", team="contact"),
    PersonSlot(9, "Customer service agent", team="contact"),
    PersonSlot(10, "Logistics supervisor", Role.MANAGER, "logistics", leads_team=True),
    PersonSlot(11, "Warehouse coordinator", team="logistics"),
    PersonSlot(12, "IT service desk lead", Role.MANAGER, "it", leads_team=True),
    PersonSlot(13, "IT support analyst", team="it"),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    first_name: str
    last_name: str
    site: int  # 0 for the head office, 1 for the first store
    slot: int
    description: str


DEMO_LOGINS = (
    DemoLogin("admin", "Alex", "Morgan", 0, 1, "admin: everything, and Django admin as superuser"),
    DemoLogin("manager", "Priya", "Shah", 1, 1, "manager of the first store"),
    DemoLogin("staff", "Sam", "Taylor", 1, 3, "staff on the shop floor of the first store"),
)

# An outside agency's mystery shopper: a login with no employee profile, who sees only the
# mystery shops assigned to them (audits.access). Site and slot do not apply to them.
MYSTERY_SHOPPER = DemoLogin(
    "shopper", "Morgan", "Lee", 0, 0, "mystery shopper of an agency: only the visits assigned to them"
)
MYSTERY_SHOPPER_AGENCY = "Clearview Mystery Shopping"
MYSTERY_SHOPPER_DOMAIN = "clearview.example"

# 40 and 41 names: coprime lengths, so employee i gets a unique (first, last) pair for i < 1640.
FIRST_NAMES = (
    "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur", "Ivy", "Leo",
    "Freya", "Oscar", "Lily", "Harry", "Grace", "Jack", "Sophia", "Muhammad", "Ella", "Charlie",
    "Rosie", "Jacob", "Aisha", "Thomas", "Zara", "Finley", "Chloe", "Ethan", "Hannah", "Rory",
    "Maya", "Kian", "Niamh", "Dylan", "Anya", "Callum", "Evie", "Tariq", "Megan", "Lewis",
)  # fmt: skip
LAST_NAMES = (
    "Hughes", "Patel", "Wright", "Khan", "Evans", "Walker", "Robinson", "Thompson", "Ahmed", "Clarke",
    "Hall", "Lewis", "Jones", "Singh", "Murray", "Green", "Campbell", "Wood", "Baker", "Kelly",
    "Turner", "Hussain", "Scott", "Phillips", "Edwards", "Begum", "Cooper", "Ward", "Morris", "Reid",
    "Okafor", "Fraser", "Mitchell", "Nowak", "Bennett", "Chen", "Price", "Doyle", "Owen", "Mensah",
    "Gallagher",
)  # fmt: skip

# --- Touchpoints ---------------------------------------------------------------------------

STORE, HEAD_OFFICE_SITE = "store", "head_office"


@dataclass(frozen=True)
class TouchpointSpec:
    slug: str
    name: str
    description: str
    channel: str
    stage: str
    owner: str  # the head-office team accountable for the touchpoint's design
    site: str  # STORE: at every store; HEAD_OFFICE_SITE: at the head office
    delivered_by: str  # the team whose people deliver it, at each site where it exists
    customer_kind: str = CustomerKind.EXTERNAL


TOUCHPOINTS = (
    TouchpointSpec(
        "store-welcome", "Welcome at the store entrance",
        "The first seconds in the store: being noticed, greeted and oriented.",
        Channel.IN_PERSON, JourneyStage.DISCOVER, "retail_ops", STORE, "floor",
    ),
    TouchpointSpec(
        "shop-floor-advice", "Advice on the shop floor",
        "Finding a product, asking about sizes, stock and alternatives.",
        Channel.IN_PERSON, JourneyStage.BUY, "retail_ops", STORE, "floor",
    ),
    TouchpointSpec(
        "fitting-rooms", "Fitting rooms",
        "Trying things on: waiting, tidy cubicles, help with another size.",
        Channel.IN_PERSON, JourneyStage.BUY, "retail_ops", STORE, "floor",
    ),
    TouchpointSpec(
        "store-phone", "Phone call to the store",
        "Customers ringing a store to check stock, opening hours or an order.",
        Channel.PHONE, JourneyStage.GET_HELP, "retail_ops", STORE, "floor",
    ),
    TouchpointSpec(
        "till-queue", "Queue at the tills",
        "Waiting to pay, and how the store responds when the queue grows.",
        Channel.IN_PERSON, JourneyStage.PAY, "retail_ops", STORE, "tills",
    ),
    TouchpointSpec(
        "checkout-till", "Checkout till",
        "Paying: scanning, payment, receipt, bagging and the goodbye.",
        Channel.IN_PERSON, JourneyStage.PAY, "retail_ops", STORE, "tills",
    ),
    TouchpointSpec(
        "age-restricted-sale", "Age-restricted sale at the till",
        "Selling knives, solvents, lottery and alcohol gift sets: the legal age check.",
        Channel.IN_PERSON, JourneyStage.PAY, "retail_ops", STORE, "tills",
    ),
    TouchpointSpec(
        "returns-desk", "Returns and refunds desk",
        "Bringing something back: exchange, refund, or a faulty item.",
        Channel.IN_PERSON, JourneyStage.RETURN, "retail_ops", STORE, "tills",
    ),
    TouchpointSpec(
        "click-and-collect", "Click & collect counter",
        "Collecting an order placed online, in the store chosen.",
        Channel.IN_PERSON, JourneyStage.RECEIVE, "logistics", STORE, "tills",
    ),
    TouchpointSpec(
        "customer-service-phone", "Customer service phone line",
        "The national number: orders, deliveries, complaints and account questions.",
        Channel.PHONE, JourneyStage.GET_HELP, "contact", HEAD_OFFICE_SITE, "contact",
    ),
    TouchpointSpec(
        "email-support", "Email to customer service",
        "Questions and complaints sent to the customer service mailbox or web form.",
        Channel.EMAIL, JourneyStage.GET_HELP, "contact", HEAD_OFFICE_SITE, "contact",
    ),
    TouchpointSpec(
        "live-chat", "Live chat on the website",
        "Chatting with an agent from any page of the website.",
        Channel.CHAT, JourneyStage.GET_HELP, "contact", HEAD_OFFICE_SITE, "contact",
    ),
    TouchpointSpec(
        "written-complaints", "Written complaints",
        "Complaints by letter or escalated from other channels, with a formal reply.",
        Channel.POST, JourneyStage.GET_HELP, "contact", HEAD_OFFICE_SITE, "contact",
    ),
    TouchpointSpec(
        "product-pages", "Product pages on the website",
        "Prices, descriptions, sizes and stock shown online.",
        Channel.WEB, JourneyStage.DISCOVER, "retail_ops", HEAD_OFFICE_SITE, "retail_ops",
    ),
    TouchpointSpec(
        "online-checkout", "Online checkout and order confirmation",
        "Paying online and receiving the order confirmation.",
        Channel.WEB, JourneyStage.BUY, "retail_ops", HEAD_OFFICE_SITE, "retail_ops",
    ),
    TouchpointSpec(
        "home-delivery", "Home delivery",
        "The parcel arriving at the door in the slot that was promised.",
        Channel.IN_PERSON, JourneyStage.RECEIVE, "logistics", HEAD_OFFICE_SITE, "logistics",
    ),
    TouchpointSpec(
        "account-statements", "Store card statements",
        "Monthly statements and payment letters for store card holders.",
        Channel.POST, JourneyStage.PAY, "contact", HEAD_OFFICE_SITE, "contact",
    ),
    # Two touchpoints no active standard covers yet: the coverage gaps of the demo.
    TouchpointSpec(
        "social-media", "Social media messages",
        "Questions and complaints sent to the brand's social media accounts.",
        Channel.SOCIAL, JourneyStage.GET_HELP, "contact", HEAD_OFFICE_SITE, "contact",
    ),
    TouchpointSpec(
        "loyalty-app", "Loyalty app",
        "Collecting points and using vouchers in the mobile app.",
        Channel.APP, JourneyStage.USE, "retail_ops", HEAD_OFFICE_SITE, "retail_ops",
    ),
    # Internal customers: stores and colleagues served by other teams.
    TouchpointSpec(
        "stock-request", "Stock request from store to warehouse",
        "A store asks the warehouse for stock it has run out of.",
        Channel.INTERNAL, JourneyStage.RECEIVE, "logistics", HEAD_OFFICE_SITE, "logistics",
        CustomerKind.INTERNAL,
    ),
    TouchpointSpec(
        "it-helpdesk", "IT helpdesk for store staff",
        "Store staff reporting a broken till, scanner or login.",
        Channel.INTERNAL, JourneyStage.GET_HELP, "it", HEAD_OFFICE_SITE, "it",
        CustomerKind.INTERNAL,
    ),
    TouchpointSpec(
        "hr-queries", "Pay and HR queries from staff",
        "Staff asking about pay, holidays and contracts.",
        Channel.INTERNAL, JourneyStage.GET_HELP, "retail_ops", HEAD_OFFICE_SITE, "retail_ops",
        CustomerKind.INTERNAL,
    ),
    TouchpointSpec(
        "shift-handover", "Shift handover between teams",
        "The next shift relies on what the last one tells them.",
        Channel.INTERNAL, JourneyStage.USE, "retail_ops", STORE, "floor",
        CustomerKind.INTERNAL,
    ),
)  # fmt: skip

# --- Standards -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    kind: str = MeasureKind.PASS_FAIL
    comparator: str = ""
    threshold: Decimal | None = None
    unit: str = ""
    # The plausible values the generator draws from, and their precision.
    value_range: tuple[Decimal, Decimal] | None = None
    decimals: int = 0


PASS_FAIL = Measure()
RATING = Measure(MeasureKind.RATING, Comparator.GTE, Decimal(4), "", (Decimal(1), Decimal(5)))


def at_most(threshold: str, unit: str, low: str, high: str, decimals: int = 0) -> Measure:
    return Measure(
        MeasureKind.NUMERIC, Comparator.LTE, Decimal(threshold), unit, (Decimal(low), Decimal(high)), decimals
    )


@dataclass(frozen=True)
class StandardSpec:
    code: str
    title: str
    behaviour: str
    how: str
    why_customer: str
    why_employee: str
    touchpoints: tuple[str, ...]
    sources: tuple[str, ...]  # how it is measured
    # Log-odds of a pass at an average site by an average employee: 3.5 ≈ 97%, 2 ≈ 88%, 1 ≈ 73%.
    ease: float
    measure: Measure = PASS_FAIL
    target_rate: Decimal = Decimal("90")
    weight: Decimal = Decimal("1")
    non_negotiable: bool = False
    status: str = Status.ACTIVE
    teams: tuple[str, ...] = ()  # team keys whose members acknowledge it; () for everyone
    effective_days_ago: int = 400
    # A revised standard: version 1 read `previous_behaviour`; version 2 took effect later.
    previous_behaviour: str = ""
    revised_days_ago: int = 0


MYSTERY, QA, AUDIT = Source.MYSTERY_SHOP, Source.QA_REVIEW, Source.AUDIT
OPERATIONAL, SELF_CHECK = Source.OPERATIONAL, Source.SELF_CHECK
NON_NEGOTIABLE = {"non_negotiable": True, "target_rate": Decimal("100"), "weight": Decimal("3")}

STANDARDS = (
    StandardSpec(
        "GRT-01", "Greet every customer within 10 seconds",
        "Within 10 seconds of a customer entering your area, make eye contact, smile and say hello.",
        "Stop what you are doing if it can wait; a nod and 'I'll be with you in a moment' counts when serving.",
        "Being noticed straight away says 'you matter here' and makes it easy to ask for help.",
        "Customers who feel welcome are friendlier, buy more and complain less.",
        ("store-welcome",), (MYSTERY,), ease=1.5, weight=Decimal("1.5"), teams=("floor",),
        previous_behaviour="Greet every customer within 30 seconds of them entering the store.",
        revised_days_ago=45,
    ),
    StandardSpec(
        "GRT-02", "A warm, genuine welcome",
        "The greeting sounds like you mean it: friendly tone, open body language, no script read aloud.",
        "Use your own words; turn towards the customer; end with an offer of help.",
        "A warm welcome sets the tone of the whole visit.",
        "Mystery shoppers rate warmth; it is the easiest point to win.",
        ("store-welcome",), (MYSTERY,), ease=1.2, measure=RATING, target_rate=Decimal("85"),
        teams=("floor",),
    ),
    StandardSpec(
        "ADV-01", "Offer help without hovering",
        "Approach a browsing customer once, offer help with an open question, then give them space.",
        "'Are you looking for anything in particular today?' Then step back and stay within sight.",
        "Customers want help on their terms, not a shadow.",
        "Knowing when to step in and when to step back is a skill that earns trust.",
        ("shop-floor-advice",), (MYSTERY,), ease=1.0, teams=("floor",),
    ),
    StandardSpec(
        "ADV-02", "Know the product, or find someone who does",
        "Answer questions about the product accurately, or fetch a colleague who can; never guess.",
        "Check the product card, the handheld or a colleague; come back within two minutes with the answer.",
        "A wrong answer costs a return trip; a right one saves the sale.",
        "Product knowledge is what makes advice worth asking for.",
        ("shop-floor-advice", "store-phone"), (MYSTERY,), ease=0.7, measure=RATING,
        target_rate=Decimal("80"), teams=("floor",),
    ),
    StandardSpec(
        "ADV-03", "Take the customer to the product",
        "When asked where something is, walk the customer to it rather than pointing.",
        "'Let me show you': walk at their pace and check it is what they wanted.",
        "It saves them searching and shows we care about the outcome.",
        "It is a chance to suggest what goes with it.",
        ("shop-floor-advice",), (MYSTERY,), ease=0.6, target_rate=Decimal("85"), teams=("floor",),
    ),
    StandardSpec(
        "FIT-01", "Fitting rooms tidy and staffed",
        "Fitting rooms are checked every 30 minutes: no clothes left behind, a colleague within call.",
        "Clear cubicles, return items to the floor, and sign the check sheet.",
        "A messy fitting room feels neglected and slows everyone down.",
        "Regular checks keep the workload small and predictable.",
        ("fitting-rooms",), (SELF_CHECK, AUDIT), ease=1.3, teams=("floor",),
    ),
    StandardSpec(
        "PHN-01", "Answer the phone within 3 rings",
        "Pick up every call within three rings and greet with the store or team name and your name.",
        "'Good morning, Oxford Street, this is Sam speaking, how can I help?'",
        "Being answered quickly means the customer is taken seriously.",
        "Calls answered early are shorter and calmer.",
        ("store-phone", "customer-service-phone"), (OPERATIONAL,), ease=0.9,
        measure=at_most("3", "rings", "1", "10"), target_rate=Decimal("85"),
    ),
    StandardSpec(
        "TIL-01", "Queue wait at most 5 minutes",
        "No customer waits more than five minutes in the till queue.",
        "Watch the queue; call for a second till before it reaches the limit.",
        "Waiting is the most common complaint about stores.",
        "Short queues mean fewer tense conversations at the till.",
        ("till-queue",), (OPERATIONAL,), ease=1.2,
        measure=at_most("5", "minutes", "0.5", "15", decimals=1), teams=("tills",),
    ),
    StandardSpec(
        "TIL-02", "Open another till when three are waiting",
        "When three or more customers are queuing, open another till or call a colleague to.",
        "Use the queue buzzer; the floor team answers within one minute.",
        "Customers see that their time is respected.",
        "Everyone shares the busy moments instead of one cashier taking the strain.",
        ("till-queue",), (SELF_CHECK,), ease=1.0, target_rate=Decimal("85"), teams=("tills",),
    ),
    StandardSpec(
        "TIL-03", "Give a receipt for every payment",
        "Every payment ends with a receipt, printed or emailed as the customer prefers.",
        "Ask 'Printed or emailed receipt?'; never skip it, even when the customer is in a hurry.",
        "The receipt is their proof of purchase for returns and guarantees.",
        "It protects you: every sale is recorded and the till balances.",
        ("checkout-till",), (OPERATIONAL, AUDIT), ease=3.8, teams=("tills",), **NON_NEGOTIABLE,
    ),
    StandardSpec(
        "TIL-04", "Thank the customer and invite them back",
        "End every sale with a thank-you and an invitation to come back, looking at the customer.",
        "'Thank you, enjoy it, and see you again soon.'",
        "The last moment of a visit is the one remembered.",
        "It closes the sale on a positive note.",
        ("checkout-till",), (MYSTERY,), ease=1.4, teams=("tills",),
    ),
    StandardSpec(
        "AGE-01", "Verify age for restricted products (Challenge 25)",
        "Anyone who looks under 25 buying an age-restricted product shows valid photo ID before the sale.",
        "Accept passport, driving licence or PASS card only; if in doubt, refuse politely and call the team leader.",
        "It keeps young people safe and treats every customer the same.",
        "Selling to an under-age customer is a criminal offence for the seller, not just the company.",
        ("age-restricted-sale",), (MYSTERY, AUDIT), ease=3.3, teams=("tills",), **NON_NEGOTIABLE,
    ),
    StandardSpec(
        "RET-01", "Refund processed within 2 working days",
        "A refund for a returned item reaches the customer's payment card within two working days.",
        "Process it at the desk while the customer waits; tell them the date to expect it.",
        "Customers judge us on how we handle things going wrong.",
        "Fast refunds stop chasing calls that land back on the store.",
        ("returns-desk",), (OPERATIONAL,), ease=1.5,
        measure=at_most("2", "working days", "0", "7"), teams=("tills",),
    ),
    StandardSpec(
        "RET-02", "Accept returns without an interrogation",
        "Accept a return within policy without asking the customer to justify it.",
        "Ask one question only, 'Was anything wrong with it?', to learn, not to judge.",
        "Nobody likes to feel suspected when exercising their rights.",
        "Returns handled kindly bring customers back.",
        ("returns-desk",), (MYSTERY,), ease=1.1, teams=("tills",),
    ),
    StandardSpec(
        "CNC-01", "Click & collect order ready within 2 hours",
        "Orders for collection are picked and ready within two hours of the 'ready' message.",
        "Pick orders first thing and after every delivery; scan them onto the collection shelf.",
        "The customer chose collection for speed.",
        "An order not ready means an awkward conversation and a second trip.",
        ("click-and-collect",), (OPERATIONAL,), ease=1.3,
        measure=at_most("2", "hours", "0.2", "6", decimals=1), teams=("tills",),
    ),
    StandardSpec(
        "CNC-02", "Hand over a collection within 3 minutes",
        "A customer collecting an order has it in their hands within three minutes of arriving.",
        "Scan the code, fetch from the labelled shelf, check the name, hand over.",
        "Collection should be quicker than shopping.",
        "A tidy collection shelf makes this easy.",
        ("click-and-collect",), (OPERATIONAL,), ease=1.0,
        measure=at_most("3", "minutes", "0.5", "12", decimals=1), teams=("tills",),
    ),
    StandardSpec(
        "PHN-02", "Use the customer's name and own the call",
        "Use the customer's name, summarise what you will do, and do it: no transfer without a warm handover.",
        "Repeat the request back; say who will call back and when; note it on the case.",
        "Customers hate repeating their story.",
        "Owning a call ends it in one go.",
        ("customer-service-phone",), (QA,), ease=1.1, measure=RATING, teams=("contact",),
    ),
    StandardSpec(
        "EML-01", "Reply to every email within 4 working hours",
        "Every customer email gets a personal reply, not an auto-reply, within four working hours.",
        "Work the oldest email first; if you cannot solve it yet, say when you will.",
        "A quick reply stops the customer from calling as well.",
        "One quick reply saves two follow-ups.",
        ("email-support",), (OPERATIONAL,), ease=0.8,
        measure=at_most("4", "working hours", "0.1", "24", decimals=1), target_rate=Decimal("85"),
        teams=("contact",),
    ),
    StandardSpec(
        "CHT-01", "Answer live chat within 60 seconds",
        "Every chat is answered by an agent within 60 seconds of the customer's first message.",
        "Keep at most three chats open; greet by name.",
        "Chat customers are often mid-purchase and will leave.",
        "Quick answers keep chats short.",
        ("live-chat",), (OPERATIONAL,), ease=1.0, measure=at_most("60", "seconds", "5", "400"),
        teams=("contact",),
    ),
    StandardSpec(
        "CMP-01", "Resolve written complaints within 5 working days",
        "Every written complaint gets a full answer, signed by a named person, within five working days.",
        "Acknowledge on day one; call the customer if you need more; reply with what you did.",
        "A complaint resolved well can turn a critic into a fan.",
        "Complaints show where the process breaks.",
        ("written-complaints", "email-support"), (OPERATIONAL,), ease=0.9,
        measure=at_most("5", "working days", "1", "20"), target_rate=Decimal("85"), teams=("contact",),
    ),
    StandardSpec(
        "DAT-01", "Never share a customer's personal data",
        "Confirm identity before discussing an account or order, and never read out or hand over personal data.",
        "Ask for postcode and order number; lock the screen when away; never email data outside the company.",
        "Customers trust us with their details.",
        "A data breach can cost the company its licence to trade and you your job.",
        ("customer-service-phone", "email-support", "live-chat", "checkout-till"), (QA, AUDIT),
        ease=4.0, **NON_NEGOTIABLE,
    ),
    StandardSpec(
        "BIL-01", "Statements correct first time",
        "Store card statements show the right balance, payments and interest.",
        "Check the exception report before statements are sent; correct and note any adjustment.",
        "A wrong bill destroys trust faster than anything.",
        "Every error means a call, a correction and an apology.",
        ("account-statements",), (AUDIT,), ease=2.5, target_rate=Decimal("98"), teams=("contact",),
    ),
    StandardSpec(
        "WEB-01", "Product information accurate online",
        "Price, size guide and stock shown on the product page match what the store and warehouse hold.",
        "Daily check of the top 50 products; fix any mismatch the same day.",
        "Customers plan trips and purchases on what the website says.",
        "Accurate pages mean fewer disappointed customers at the till.",
        ("product-pages",), (AUDIT,), ease=1.8, teams=("retail_ops",),
    ),
    StandardSpec(
        "WEB-02", "Order confirmed within 5 minutes",
        "Every online order is confirmed by email within five minutes of payment.",
        "Monitor the order queue alert; resend manually if the automatic email fails.",
        "Without a confirmation customers are not sure they have paid.",
        "A missing confirmation becomes a phone call.",
        ("online-checkout",), (OPERATIONAL,), ease=2.2,
        measure=at_most("5", "minutes", "0.2", "60", decimals=1), target_rate=Decimal("95"),
        teams=("retail_ops",),
    ),
    StandardSpec(
        "DEL-01", "Deliver in the promised slot",
        "Home deliveries arrive within the one-hour slot given to the customer.",
        "Plan routes the evening before; text the customer if the slot is at risk.",
        "Customers stay in for us; missing the slot wastes their day.",
        "On-time drops mean no redeliveries.",
        ("home-delivery",), (OPERATIONAL,), ease=1.7, target_rate=Decimal("95"), teams=("logistics",),
    ),
    StandardSpec(
        "STK-01", "Fulfil store stock requests within 24 hours",
        "A store's stock request is picked and dispatched within 24 hours of being raised.",
        "Pick urgent requests first; tell the store the dispatch time.",
        "Stores cannot serve customers from an empty shelf.",
        "Reliable replenishment means fewer emergency calls.",
        ("stock-request",), (OPERATIONAL,), ease=1.2, measure=at_most("24", "hours", "2", "72"),
        target_rate=Decimal("90"), teams=("logistics",),
    ),
    StandardSpec(
        "ITS-01", "Resolve store IT tickets within 8 working hours",
        "A store's IT ticket is resolved, or a workaround in place, within eight working hours.",
        "Triage on arrival: a till that cannot take payment is always top priority.",
        "A broken till is a queue of unhappy customers.",
        "Fixed tickets mean fewer repeat calls.",
        ("it-helpdesk",), (OPERATIONAL,), ease=0.8,
        measure=at_most("8", "working hours", "0.2", "40", decimals=1), target_rate=Decimal("85"),
        teams=("it",),
    ),
    StandardSpec(
        "ITS-02", "Tell the store what happens next",
        "Every ticket update tells the store what was done, what happens next and when.",
        "Write in plain words, no jargon; name the engineer if one is coming.",
        "Store staff can plan around a problem they understand.",
        "Clear updates stop 'any news?' calls.",
        ("it-helpdesk",), (QA,), ease=1.5, teams=("it",),
    ),
    StandardSpec(
        "HRQ-01", "Answer staff pay and HR queries within 2 working days",
        "A colleague's question about pay, holidays or contracts gets a full answer within two working days.",
        "Log every query; reply in writing; call if it is about missing pay.",
        "Staff who are looked after look after customers.",
        "Clear answers prevent grievances.",
        ("hr-queries",), (OPERATIONAL,), ease=1.0, measure=at_most("2", "working days", "0", "8"),
        target_rate=Decimal("85"), teams=("retail_ops",),
    ),
    StandardSpec(
        "HND-01", "Hand over at every shift change",
        "At every shift change the handover sheet records open orders, promises to customers and problems.",
        "Five minutes, face to face, with the sheet; the incoming team leader signs it.",
        "Promises made to customers are kept whoever is on shift.",
        "Nobody walks into a problem they did not know about.",
        ("shift-handover",), (SELF_CHECK,), ease=1.2, target_rate=Decimal("95"), teams=("floor",),
    ),
    # Drafts and retired standards: they cover nothing until active, and collect no evidence.
    StandardSpec(
        "SOC-01", "Reply to social media messages within 1 hour",
        "Every direct message or public complaint on our social accounts gets a reply within one hour.",
        "Reply publicly once, then move to a private message for details.",
        "Social complaints are public: a quick reply shows we listen.",
        "An early reply stops a pile-on.",
        ("social-media",), (OPERATIONAL,), ease=1.0, measure=at_most("1", "hours", "0.1", "12", 1),
        status=Status.DRAFT, teams=("contact",), effective_days_ago=0,
    ),
    StandardSpec(
        "DEL-02", "Photo proof for every delivery",
        "Every parcel left without a signature is photographed where it was left.",
        "Take the photo showing the door number; attach it to the delivery record.",
        "Customers know where to find their parcel.",
        "A photo settles 'it never arrived' claims.",
        ("home-delivery",), (AUDIT,), ease=2.0, status=Status.DRAFT, teams=("logistics",),
        effective_days_ago=0,
    ),
    StandardSpec(
        "TIL-00", "Offer a carrier bag at every sale",
        "Offer a carrier bag at every sale.",
        "Ask 'Would you like a bag?' before packing.",
        "Customers choose whether to pay for a bag.",
        "Retired when the store moved to paper bags on request only.",
        ("checkout-till",), (MYSTERY,), ease=2.0, status=Status.RETIRED, teams=("tills",),
        effective_days_ago=900,
    ),
    StandardSpec(
        "PHN-00", "Answer the phone within 5 rings",
        "Answer every call within five rings.",
        "Superseded by PHN-01.",
        "Callers are answered before they give up.",
        "Retired: replaced by the three-ring standard.",
        ("store-phone",), (OPERATIONAL,), ease=1.5, measure=at_most("5", "rings", "1", "10"),
        status=Status.RETIRED, effective_days_ago=1200,
    ),
)  # fmt: skip

# --- Training ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseSpec:
    code: str
    title: str
    description: str
    delivery_method: str
    duration_minutes: int
    pass_mark: int | None
    refresher_interval_days: int | None
    standards: tuple[str, ...]


COURSES = (
    CourseSpec(
        "SVC-101", "Service essentials: our standards",
        "Every standard, why it matters and what it looks like done well.",
        DeliveryMethod.E_LEARNING, 45, 80, 365, ("GRT-01", "GRT-02", "TIL-04", "DAT-01"),
    ),
    CourseSpec(
        "SVC-102", "Challenge 25: age-restricted sales",
        "The law, accepted ID, refusing a sale politely, and recording refusals.",
        DeliveryMethod.E_LEARNING, 30, 90, 180, ("AGE-01",),
    ),
    CourseSpec(
        "SVC-103", "Protecting customers' personal data",
        "Identity checks, clear desks and screens, and what to do after a slip.",
        DeliveryMethod.MULTIMEDIA, 40, 80, 365, ("DAT-01",),
    ),
    CourseSpec(
        "SVC-201", "Tills, refunds and receipts",
        "Shadowing an experienced cashier: payments, receipts, refunds and queue management.",
        DeliveryMethod.ON_THE_JOB, 240, None, None, ("TIL-01", "TIL-02", "TIL-03", "RET-01", "RET-02"),
    ),
    CourseSpec(
        "SVC-202", "Product knowledge: the seasonal range",
        "The new season's ranges, fabrics and sizing, and where to find answers fast.",
        DeliveryMethod.SELF_STUDY, 60, 70, 90, ("ADV-02", "ADV-03"),
    ),
    CourseSpec(
        "SVC-203", "Telephone, email and chat etiquette",
        "Greetings, owning the contact, writing clearly and closing the loop.",
        DeliveryMethod.CLASSROOM, 180, None, 730, ("PHN-01", "PHN-02", "EML-01", "CHT-01", "CMP-01"),
    ),
    CourseSpec(
        "SVC-204", "Click & collect and stock requests",
        "Picking, the collection shelf, and raising stock requests that arrive on time.",
        DeliveryMethod.ON_THE_JOB, 90, None, None, ("CNC-01", "CNC-02", "STK-01"),
    ),
    CourseSpec(
        "SVC-301", "Coaching for service leaders",
        "Observing, giving feedback, coaching conversations and celebrating success.",
        DeliveryMethod.CLASSROOM, 360, None, 730, ("GRT-01", "TIL-02", "HND-01"),
    ),
    CourseSpec(
        "SVC-302", "Supporting stores: internal service",
        "Stores are our customers: tickets, updates and promises kept.",
        DeliveryMethod.E_LEARNING, 30, 75, 365, ("ITS-01", "ITS-02", "HRQ-01", "STK-01"),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class RequirementSpec:
    course: str
    audience: str
    role: str = ""
    team: str = ""  # a team key: one requirement for every team with that key
    store: int = 0  # for a location audience: the store's position (1 = first)
    due_within_days: int = 30
    # When the requirement reached people: assignments date from then (or from hire).
    added_days_ago: int = 150


REQUIREMENTS = (
    RequirementSpec("SVC-101", Audience.EVERYONE),
    RequirementSpec("SVC-103", Audience.EVERYONE, due_within_days=60),
    RequirementSpec("SVC-102", Audience.TEAM, team="tills", due_within_days=14),
    RequirementSpec("SVC-201", Audience.TEAM, team="tills"),
    RequirementSpec("SVC-204", Audience.TEAM, team="tills", due_within_days=45),
    RequirementSpec("SVC-203", Audience.TEAM, team="contact"),
    RequirementSpec("SVC-302", Audience.TEAM, team="it"),
    RequirementSpec("SVC-302", Audience.TEAM, team="logistics"),
    RequirementSpec("SVC-301", Audience.ROLE, role=Role.MANAGER, due_within_days=90),
    # Remedial: product knowledge for the weak second store, assigned recently.
    RequirementSpec("SVC-202", Audience.LOCATION, store=2, due_within_days=21, added_days_ago=20),
)

# How completions turn out, by share of assignments (the rest are missing: due or overdue).
COMPLETION_OUTCOMES = (("verified", 0.68), ("logged", 0.08), ("rejected", 0.04), ("expired", 0.09))
REJECTION_REASONS = (
    "The certificate attached is for a different course.",
    "No evidence attached: please add the trainer's name or the certificate number.",
    "Completed before the course's current version; please take the updated module.",
)
COMPLETION_EVIDENCE = {
    DeliveryMethod.E_LEARNING: "Certificate {number} from the learning portal",
    DeliveryMethod.MULTIMEDIA: "Video module completed, quiz certificate {number}",
    DeliveryMethod.CLASSROOM: "Attendance sheet, session {number}",
    DeliveryMethod.ON_THE_JOB: "Signed off by the team leader, checklist {number}",
    DeliveryMethod.SELF_STUDY: "Workbook returned, reference {number}",
}
# Share of employees in scope who have acknowledged a standard's current version.
ACKNOWLEDGED_SHARE = 0.9

# --- Measurement ---------------------------------------------------------------------------

STORE_HOURS = (9, 20)  # opening hour, closing hour
HEAD_OFFICE_HOURS = (8, 20)
MYSTERY_SHOP_CHANCE = 2 / 7  # a store is mystery-shopped about twice a week
MYSTERY_SHOP_TOUCHPOINTS = 3  # touchpoints a mystery shopper tries in one visit
AUDIT_WEEKDAY = 0  # every site is audited on Mondays
# Share of the head office's observations that come from the contact centre's QA reviews.
QA_REVIEW_SHARE = 0.35
QA_REVIEW_CONTACTS = 6  # contacts of one agent scored in one QA review
# Personal effect of an employee on the log-odds of a pass: a normal with this spread.
EMPLOYEE_SPREAD = 0.35
DEVIATION_CLOSE_AFTER_DAYS = 14  # deviations older than this are mostly closed
# Feedback: the log-odds that a customer is satisfied (CSAT 4–5) at an average site.
SATISFACTION_EASE = 1.3
COMMENT_CHANCE = 0.3
CONTACT_CONSENT_CHANCE = 0.05

POSITIVE_COMMENTS = (
    "Lovely staff, really helpful.",
    "Quick and easy, thank you.",
    "The assistant went out of her way to find my size.",
    "Great service as always.",
    "Friendly welcome and no queue.",
    "Sorted my problem in one go. Impressed.",
)
NEUTRAL_COMMENTS = (
    "Fine, nothing special.",
    "OK but took a while.",
    "Got what I needed in the end.",
)
NEGATIVE_COMMENTS = (
    "Nobody acknowledged me.",
    "Staff were chatting to each other and ignored customers.",
    "Had to ask three people before anyone could help.",
    "Really disappointing visit.",
)
TOUCHPOINT_COMMENTS = {
    "till-queue": (
        ("Queue moved fast, a second till opened straight away.",),
        ("Waited over ten minutes at lunchtime with one till open.", "The queue was out of the door."),
    ),
    "returns-desk": (
        ("Refund done in two minutes, no questions.",),
        ("Still waiting for my refund after a week.", "Made to feel like a thief for returning a jumper."),
    ),
    "fitting-rooms": (
        ("Fitting rooms were spotless.",),
        ("Fitting rooms full of clothes left by others, nobody around.",),
    ),
    "click-and-collect": (
        ("Order ready and handed over in a minute.",),
        ("Got the 'ready' text but the order couldn't be found.",),
    ),
    "customer-service-phone": (
        ("Agent was brilliant and called me back as promised.",),
        ("On hold for 20 minutes and then cut off.", "Transferred three times, repeated my story each time."),
    ),
    "live-chat": (("Chat answered instantly, really useful.",), ("Waited ages for the chat to connect.",)),
    "home-delivery": (
        ("Arrived early in the slot, driver very polite.",),
        ("Stayed in all day and the parcel never came.",),
    ),
    "product-pages": (
        ("Website showed exactly what was in store.",),
        ("Website said in stock but the store had none.",),
    ),
}

# --- Gap analysis --------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingSpec:
    dimension: str
    current: int
    target: int
    evidence: str


@dataclass(frozen=True)
class ActionSpec:
    title: str
    description: str
    source: str  # the dimension whose rating it answers, or FROM_FEEDBACK
    status: str = ActionStatus.OPEN
    due_in_days: int = 30  # from the anchor date; negative: due in the past
    closure_note: str = ""
    closed_days_ago: int = 0
    customer_summary: str = ""
    published: bool = False


FROM_FEEDBACK = "feedback"


@dataclass(frozen=True)
class AssessmentSpec:
    touchpoint: str
    site: int | None  # 0 the head office, 1… a store's position, None the whole organisation
    assessed_days_ago: int
    status: str
    summary: str
    expectations: tuple[str, ...]
    ratings: tuple[RatingSpec, ...]
    actions: tuple[ActionSpec, ...] = ()


POLICIES, PROCESSES, PEOPLE, PRACTICES = (
    Dimension.POLICIES,
    Dimension.PROCESSES,
    Dimension.PEOPLE,
    Dimension.PRACTICES,
)
DONE, IN_PROGRESS, OPEN = ActionStatus.DONE, ActionStatus.IN_PROGRESS, ActionStatus.OPEN
COMPLETED, DRAFT = AssessmentStatus.COMPLETED, AssessmentStatus.DRAFT

ASSESSMENTS = (
    AssessmentSpec(
        "till-queue", 2, 75, COMPLETED,
        "Lunchtime queues regularly exceed ten minutes with one till open.",
        ("Timely response", "Respect"),
        (
            RatingSpec(POLICIES, 3, 4, "Queue policy exists but sets no trigger for opening a till."),
            RatingSpec(PROCESSES, 2, 4, "No buzzer; cashiers must leave the till to find help."),
            RatingSpec(PEOPLE, 3, 4, "Floor staff unsure whether they may open a till."),
            RatingSpec(PRACTICES, 2, 5, "Observed 12-minute waits on 3 of 5 lunchtimes."),
        ),
        (
            ActionSpec(
                "Install a queue buzzer linked to the floor team", "Buzzer at every till, answered within a minute.",
                PROCESSES, DONE, -40, "Buzzers installed and tested at all tills.", 45,
                "You said the lunchtime queues were too long; we put in a buzzer so a second till opens within a minute.",
                True,
            ),
            ActionSpec(
                "Roster a second cashier from 12:00 to 14:00", "Change the rota template for weekdays.",
                PRACTICES, IN_PROGRESS, -12,
            ),
            ActionSpec(
                "Reply to the customer who waited ten minutes", "Apologise and explain the changes.",
                FROM_FEEDBACK, DONE, -50, "Called the customer, apologised and sent a voucher.", 55,
            ),
        ),
    ),
    AssessmentSpec(
        "returns-desk", 2, 60, COMPLETED,
        "Refunds wait for a supervisor's approval, which adds days.",
        ("Timely correction of errors", "Fairness"),
        (
            RatingSpec(POLICIES, 2, 4, "Refunds over £50 need a supervisor, who is often not on shift."),
            RatingSpec(PROCESSES, 2, 4, "Refunds keyed at the end of the day, not while the customer waits."),
            RatingSpec(PEOPLE, 3, 4, "Returns advisors trained, but not on the new card terminals."),
            RatingSpec(PRACTICES, 3, 5, "Customers asked why they were returning items, twice."),
        ),
        (
            ActionSpec(
                "Raise the refund approval limit to £150", "Policy change agreed with finance.",
                POLICIES, DONE, -20, "New limit live in the till system.", 25,
                "You said refunds took too long; returns advisors can now refund up to £150 on the spot.", True,
            ),
            ActionSpec(
                "Refund the customer who waited a week", "Chase finance and call the customer.",
                FROM_FEEDBACK, DONE, -30, "Refund issued; customer called with an apology.", 33,
            ),
        ),
    ),
    AssessmentSpec(
        "customer-service-phone", 0, 50, COMPLETED,
        "Long holds at peak times; too many transfers between teams.",
        ("Timely response", "Knowledgeable staff", "Courtesy"),
        (
            RatingSpec(POLICIES, 3, 4, "Transfer policy allows up to three transfers."),
            RatingSpec(PROCESSES, 2, 4, "No call-back option when the queue is long."),
            RatingSpec(PEOPLE, 3, 5, "New agents cannot handle delivery questions without a transfer."),
            RatingSpec(PRACTICES, 3, 4, "QA reviews show good courtesy, weak ownership."),
        ),
        (
            ActionSpec(
                "Offer a call-back when the wait passes 3 minutes", "Configure the telephony queue.",
                PROCESSES, DONE, -15, "Call-back option live since the last release.", 20,
                "You said you waited too long on hold; you can now ask us to call you back instead.", True,
            ),
            ActionSpec(
                "Train all agents on delivery questions", "Half-day session with logistics.",
                PEOPLE, IN_PROGRESS, 20,
            ),
            ActionSpec(
                "Limit transfers to one, with a warm handover", "Update the transfer policy and QA form.",
                POLICIES, OPEN, 30,
            ),
        ),
    ),
    AssessmentSpec(
        "store-welcome", 1, 40, COMPLETED,
        "Greeting is strong at the entrance but weak upstairs.",
        ("Respect", "Courtesy"),
        (
            RatingSpec(POLICIES, 4, 4, "Greeting standard recently tightened to 10 seconds."),
            RatingSpec(PROCESSES, 4, 4, "Zone plan puts a colleague within sight of each entrance."),
            RatingSpec(PEOPLE, 4, 5, "Confident team; two new starters still shy."),
            RatingSpec(PRACTICES, 3, 5, "Upstairs customers waited longer to be greeted."),
        ),
        (
            ActionSpec(
                "Add the upstairs landing to the zone plan", "One colleague covers the escalator landing.",
                PRACTICES, DONE, -10, "Zone plan updated and briefed.", 12,
            ),
        ),
    ),
    AssessmentSpec(
        "fitting-rooms", 3, 35, COMPLETED,
        "Fitting rooms often untidy at weekends.",
        ("Quality", "Respect"),
        (
            RatingSpec(POLICIES, 3, 4, "Check interval not stated for weekends."),
            RatingSpec(PROCESSES, 3, 4, "Check sheet exists but is not signed."),
            RatingSpec(PEOPLE, 3, 4, "Fitting room role given to whoever is free."),
            RatingSpec(PRACTICES, 2, 4, "Customers found cubicles full of clothes."),
        ),
        (
            ActionSpec(
                "Name a fitting-room host every weekend shift", "Add the role to the weekend rota.",
                PEOPLE, DONE, -5, "Role on the rota since the start of the month.", 8,
                "You said the fitting rooms were untidy; every weekend shift now has a named fitting-room host.",
                True,
            ),
            ActionSpec(
                "Apologise to the customer about the fitting rooms", "Reply to the comment left by QR code.",
                FROM_FEEDBACK, OPEN, 7,
            ),
        ),
    ),
    AssessmentSpec(
        "click-and-collect", 4, 30, COMPLETED,
        "Orders sometimes reported ready before they are picked.",
        ("On-time delivery", "Quality"),
        (
            RatingSpec(POLICIES, 4, 4, "Two-hour promise is clear."),
            RatingSpec(PROCESSES, 2, 4, "'Ready' text sent on delivery to store, not on picking."),
            RatingSpec(PEOPLE, 3, 4, "Late shift not trained on the collection shelf."),
            RatingSpec(PRACTICES, 3, 4, "Shelf labels missing on two bays."),
        ),
        (
            ActionSpec(
                "Send the 'ready' text only after the order is scanned to the shelf", "Change with the IT team.",
                PROCESSES, IN_PROGRESS, 14,
            ),
        ),
    ),
    AssessmentSpec(
        "home-delivery", 0, 25, COMPLETED,
        "Missed slots cluster on Friday evenings.",
        ("On-time delivery", "Timely correction of errors"),
        (
            RatingSpec(POLICIES, 3, 4, "No rule on texting the customer when late."),
            RatingSpec(PROCESSES, 3, 4, "Friday routes planned with too many drops."),
            RatingSpec(PEOPLE, 4, 4, "Drivers well rated."),
            RatingSpec(PRACTICES, 3, 5, "Late drivers rarely warn the customer."),
        ),
        (
            ActionSpec(
                "Text the customer when a slot is at risk", "Automatic text from the route planner.",
                POLICIES, OPEN, 25,
            ),
            ActionSpec(
                "Redeliver to the customer who waited in all day", "Book a priority slot.",
                FROM_FEEDBACK, DONE, -3, "Delivered next morning with an apology.", 4,
            ),
        ),
    ),
    AssessmentSpec(
        "stock-request", 0, 20, COMPLETED,
        "Stores say urgent requests are treated like any other.",
        ("Timely response", "Knowledgeable staff"),
        (
            RatingSpec(POLICIES, 3, 4, "No 'urgent' category on requests."),
            RatingSpec(PROCESSES, 3, 4, "Requests batched once a day."),
            RatingSpec(PEOPLE, 4, 4, "Warehouse team responsive by phone."),
            RatingSpec(PRACTICES, 3, 4, "Stores not told the dispatch time."),
        ),
        (
            ActionSpec(
                "Add an 'urgent' flag to stock requests", "Picked in the next wave.", PROCESSES, OPEN, 40,
            ),
        ),
    ),
    AssessmentSpec(
        "it-helpdesk", 0, 15, DRAFT,
        "Draft: interviews with store team leaders in progress.",
        ("Timely response",),
        (
            RatingSpec(POLICIES, 4, 4, "Priorities defined."),
            RatingSpec(PROCESSES, 3, 4, "Tickets raised by phone are not always logged."),
            RatingSpec(PEOPLE, 3, 4, "One analyst covers all stores on Sundays."),
            RatingSpec(PRACTICES, 3, 4, "Updates use jargon."),
        ),
    ),
    AssessmentSpec(
        "product-pages", None, 10, COMPLETED,
        "Stock shown online is often wrong for small stores.",
        ("Quality", "Knowledgeable staff"),
        (
            RatingSpec(POLICIES, 3, 4, "Stock shown with a 24-hour delay by policy."),
            RatingSpec(PROCESSES, 2, 4, "Store stock feed runs nightly only."),
            RatingSpec(PEOPLE, 4, 4, "Web team responsive to reported errors."),
            RatingSpec(PRACTICES, 3, 4, "Daily checks cover the top 50 products only."),
        ),
        (
            ActionSpec(
                "Update store stock online every hour", "Move the feed to hourly.", PROCESSES, IN_PROGRESS, 30,
            ),
        ),
    ),
)  # fmt: skip

# --- Consequences --------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    name: str
    description: str
    subject_kind: str
    condition: str
    action: str
    period_kind: str = PeriodKind.MONTH
    consecutive_periods: int = 2
    min_observations: int = 10
    standard: str = ""
    due_within_days: int = 14
    active: bool = True
    missed_at_least: int | None = None


RULES = (
    RuleSpec(
        "Recognise sustained excellence",
        "An employee at or above target for two months running earns a recognition.",
        SubjectKind.EMPLOYEE, Condition.SUSTAINED_PERFORMANCE, Action.RECOGNITION,
    ),
    RuleSpec(
        "Celebrate a store on target for a quarter",
        "A location at or above target three months running: celebrate it and share what works.",
        SubjectKind.LOCATION, Condition.SUSTAINED_PERFORMANCE, Action.RECOGNITION, consecutive_periods=3,
        min_observations=100, due_within_days=30,
    ),
    RuleSpec(
        "Coach after two months below target",
        "An employee below target two months running gets a coaching session with their team leader.",
        SubjectKind.EMPLOYEE, Condition.REPEATED_SHORTFALL, Action.COACHING,
    ),
    RuleSpec(
        "Team improvement plan after repeated shortfall",
        "A team below target three weeks running agrees a corrective action plan.",
        SubjectKind.TEAM, Condition.REPEATED_SHORTFALL, Action.CORRECTIVE_ACTION,
        period_kind=PeriodKind.WEEK, consecutive_periods=3, min_observations=30,
    ),
    RuleSpec(
        "Phone refresher after missed rings",
        "Below target on answering within 3 rings two months running: redo the etiquette course.",
        SubjectKind.EMPLOYEE, Condition.REPEATED_SHORTFALL, Action.REMEDIAL_TRAINING, standard="PHN-01",
        min_observations=5, due_within_days=30,
    ),
    RuleSpec(
        "Corrective action for every deviation",
        "Any failure of a non-negotiable standard is corrected with the employee straight away.",
        SubjectKind.EMPLOYEE, Condition.DEVIATION, Action.CORRECTIVE_ACTION, consecutive_periods=1,
        min_observations=0, due_within_days=7,
    ),
    RuleSpec(
        "Remedial training when training has lapsed",
        "Below target on a standard whose training has expired: retake the course.",
        SubjectKind.EMPLOYEE, Condition.TRAINING_LAPSE, Action.REMEDIAL_TRAINING, consecutive_periods=1,
        min_observations=5, due_within_days=21,
    ),
    RuleSpec(
        "Corrective action after two missed audits in a quarter",
        "A store that lets two planned audits lapse in a quarter agrees with its area manager how none will be missed again.",
        SubjectKind.LOCATION, Condition.AUDITS_MISSED, Action.CORRECTIVE_ACTION, period_kind=PeriodKind.QUARTER,
        consecutive_periods=1, min_observations=0, due_within_days=14, missed_at_least=2,
    ),
    RuleSpec(
        "Weekly recognition for contact centre agents",
        "Paused: replaced by the monthly recognition.",
        SubjectKind.EMPLOYEE, Condition.SUSTAINED_PERFORMANCE, Action.RECOGNITION,
        period_kind=PeriodKind.WEEK, consecutive_periods=4, active=False,
    ),
)  # fmt: skip

# What the corrective action of a deviation did, by standard.
CORRECTIVE_NOTE = "Went through the standard together and observed it done right three times running."
CORRECTIVE_NOTES = {
    "AGE-01": "Re-briefed on Challenge 25 and accepted ID; observed the next three age-restricted sales, all correct.",
    "TIL-03": "Walked through the receipt step again; till prompt switched on; spot-checked the next ten sales.",
    "DAT-01": "Went through identity checks and screen locking; incident logged with the data protection officer.",
}

# --- Cases ---------------------------------------------------------------------------------

WAITING, ATTITUDE, PRODUCT, BILLING, DELIVERY, OTHER = (
    "Waiting time",
    "Staff attitude",
    "Product quality",
    "Billing error",
    "Delivery",
    "Other",
)
CASE_CATEGORIES = (
    (WAITING, "Queues, time on hold and slow answers."),
    (ATTITUDE, "How the customer was treated by a colleague."),
    (PRODUCT, "Faulty, damaged or not as described."),
    (BILLING, "Wrong prices, double charges, refunds that did not arrive."),
    (DELIVERY, "Late, missing or wrong deliveries and click & collect orders."),
    (OTHER, "Anything else the customer was unhappy about."),
)


@dataclass(frozen=True)
class SlaSpec:
    severity: str
    acknowledge_within_hours: int
    resolve_within_days: int
    warn_before_hours: int
    site: int | None = None  # None: every location; 0 the head office
    touchpoint: str = ""  # a touchpoint slug, or "" for every touchpoint


SLA_POLICIES = (
    SlaSpec(Severity.URGENT, 2, 1, 1),
    SlaSpec(Severity.HIGH, 4, 2, 1),
    SlaSpec(Severity.NORMAL, 8, 5, 2),
    SlaSpec(Severity.LOW, 24, 10, 4),
    # The contact centre is staffed all its opening hours: a very unhappy caller hears back within the hour.
    SlaSpec(Severity.HIGH, 1, 2, 0, site=0, touchpoint="customer-service-phone"),
)


@dataclass(frozen=True)
class CaseRuleSpec:
    name: str
    severity: str
    nps_at_most: int | None = None
    csat_at_most: int | None = None
    contact_requested: bool = False


# The first matching rule by name opens the case (cases.services.intake).
CASE_RULES = (
    CaseRuleSpec(
        "Detractor who asked to be contacted", Severity.NORMAL, nps_at_most=6, contact_requested=True
    ),
    CaseRuleSpec("Very unhappy", Severity.HIGH, csat_at_most=2),
)

# Opening hours (weekdays 0 = Monday … 6 = Sunday, opening, closing) per location code; stores
# not named here keep STORE_OPENING_HOURS. They follow the hours in which the evidence is made
# (STORE_HOURS, HEAD_OFFICE_HOURS); on Sunday the law allows large shops six hours.
STORE_OPENING_HOURS = ((range(6), "09:00", "20:00"), ((6,), "11:00", "17:00"))
OPENING_HOURS = {
    HEAD_OFFICE.code: ((range(5), "08:00", "20:00"),),  # the contact centre
    "MAN-02": ((range(5), "08:00", "18:00"), ((5,), "09:00", "17:00")),  # the station kiosk
    "WIN-01": ((range(3, 7), "10:00", "18:00"),),  # the pop-up, Thursday to Sunday
}

# How a store handles its cases follows the quality of its service (SiteSpec.quality): hours to
# acknowledge and days to resolve are log-normal around these medians, scaled by exp(-k × quality),
# and a customer asked afterwards is recovered (satisfaction 4–5) with the log-odds given.
ACKNOWLEDGE_MEDIAN_HOURS, ACKNOWLEDGE_QUALITY_EFFECT, ACKNOWLEDGE_SPREAD = 2.0, 0.6, 0.7
RESOLVE_MEDIAN_DAYS, RESOLVE_QUALITY_EFFECT, RESOLVE_SPREAD = 1.2, 0.6, 0.6
RECOVERY_EASE, RECOVERY_QUALITY_EFFECT = 0.3, 1.6
OPENING_HOURS_A_DAY = 10  # a day's work on a case, counted in the location's opening hours
HAND_OVER_SHARE = 0.3  # cases the manager hands to the lead of the team that delivers the touchpoint
HAND_OVER_NOTE = "Over to the team that was on shift."
IN_PROGRESS_SHARE = 0.6  # cases that go through "in progress" before they are resolved
NOTE_SHARE = 0.35  # cases with an internal note
CLOSE_AFTER_DAYS = (3, 8)  # a resolved case is closed this many days later
REOPEN_SHARE = 0.04  # resolved cases the customer came back about
FOLLOW_UP_ANSWER_SHARE = 0.65  # customers who answer the follow-up survey
LINK_ACTION_SHARE = 0.5  # resolved cases linked to an open gap action on their touchpoint and location

# A case's category follows what the customer wrote, else the touchpoint.
COMMENT_CATEGORIES = {
    "Nobody acknowledged me.": ATTITUDE,
    "Staff were chatting to each other and ignored customers.": ATTITUDE,
    "Had to ask three people before anyone could help.": WAITING,
    "Waited over ten minutes at lunchtime with one till open.": WAITING,
    "The queue was out of the door.": WAITING,
    "Still waiting for my refund after a week.": BILLING,
    "Made to feel like a thief for returning a jumper.": ATTITUDE,
    "Got the 'ready' text but the order couldn't be found.": DELIVERY,
    "On hold for 20 minutes and then cut off.": WAITING,
    "Transferred three times, repeated my story each time.": WAITING,
    "Waited ages for the chat to connect.": WAITING,
    "Stayed in all day and the parcel never came.": DELIVERY,
    "OK but took a while.": WAITING,
}
TOUCHPOINT_CATEGORIES = {
    "till-queue": WAITING,
    "customer-service-phone": WAITING,
    "live-chat": WAITING,
    "email-support": WAITING,
    "store-phone": WAITING,
    "checkout-till": BILLING,
    "returns-desk": BILLING,
    "account-statements": BILLING,
    "online-checkout": BILLING,
    "click-and-collect": DELIVERY,
    "home-delivery": DELIVERY,
    "store-welcome": ATTITUDE,
    "shop-floor-advice": ATTITUDE,
}

# What owners wrote: the first reply to a customer who may be contacted ({name}: their first
# name, {owner}: the owner's, {location}), an internal note, what was done (the resolution
# summary), and the last message to the customer.
CASE_REPLIES = (
    "Dear {name}, thank you for telling us about your visit to {location}, and I am sorry we let you "
    "down. I am {owner} and I am looking into it now; I will come back to you within two days.",
    "Dear {name}, I am sorry about your experience at {location}. I have read your comments myself "
    "and will call you once I have spoken to the team. {owner}",
)
CASE_NOTES = {
    WAITING: (
        "Checked the rota: one cashier on between 12:00 and 13:30 that day.",
        "Queue camera shows an 11-minute wait at 12:40.",
    ),
    ATTITUDE: (
        "Spoke to the colleague on shift; they remember the customer and were short-handed.",
        "CCTV reviewed with the team leader.",
    ),
    BILLING: (
        "Finance confirm the refund failed at the bank; reissued.",
        "Till log shows the item scanned twice.",
    ),
    DELIVERY: ("Carrier says the parcel was left at the depot.", "Order was shelved under the wrong name."),
    PRODUCT: ("Batch checked with the buying team: three other returns this month.",),
    OTHER: ("Walked the floor at the time the customer visited.",),
}
RESOLUTIONS = {
    WAITING: (
        "Apologised; a second cashier is now rostered over lunch and the buzzer calls help within a minute.",
        "Called the customer back, apologised for the wait and explained the new call-back option.",
        "Apologised with a £10 voucher; queue times reviewed at the next team briefing.",
    ),
    ATTITUDE: (
        "Apologised to the customer; the colleague was coached on greeting and the standard re-briefed.",
        "Team leader spoke to the customer and the team; refresher on the welcome standard booked.",
    ),
    BILLING: (
        "Refund reissued and confirmed with the customer; the refund step added to the returns checklist.",
        "Duplicate charge refunded the same day with an apology.",
    ),
    DELIVERY: (
        "Redelivered on a priority slot with an apology; carrier briefed.",
        "Order found and handed over; shelving by order number reinstated.",
    ),
    PRODUCT: ("Replaced the item and sent the faulty one back to the supplier for testing.",),
    OTHER: (
        "Apologised and explained what we have changed; the customer was happy with the answer.",
        "Looked into it with the team and apologised; nothing further the customer needed.",
    ),
}
CASE_CLOSING_MESSAGE = (
    "Dear {name}, we have now put this right: {summary} Thank you for taking the time to tell us. {owner}"
)
CLOSE_NOTE = "No further word from the customer: closed."
REOPEN_NOTE = "The customer called again: the fix did not hold."
FOLLOW_UP_COMMENTS = {
    True: ("Thank you for sorting it so quickly.", "Really appreciated the call.", ""),
    False: ("Still not happy with how it was handled.", "Took far too long.", ""),
}


@dataclass(frozen=True)
class ComplaintSpec:
    """A complaint a colleague took in person, by phone or by letter, and what has become of it."""

    key: str  # the case's external id is "demo-case-<key>"
    site: int  # 0 the head office, 1… a store's position
    taken_by: int  # roster slot of the colleague who took it, and owns it
    origin: str
    days_ago: int
    hour: int
    touchpoint: str
    category: str
    severity: str
    title: str
    description: str
    status: str  # where it stands now
    contact: tuple[str, str, str] = ()  # name, email, phone, given with the customer's consent
    hand_to: int = 0  # roster slot of the colleague it was handed over to, if any


COMPLAINTS = (
    ComplaintSpec(
        "double-charge", 2, 7, CaseOrigin.IN_PERSON, 1, 11, "checkout-till", BILLING, Severity.HIGH,
        "Charged twice for a winter coat",
        "Customer came back with her bank statement: the coat was taken twice on the card.",
        CaseStatus.NEW, ("Grace Turner", "grace.turner@example.com", "07700 900123"),
    ),
    ComplaintSpec(
        "broken-zip", 1, 3, CaseOrigin.PHONE, 2, 15, "store-phone", PRODUCT, Severity.NORMAL,
        "Zip broke the second time the jacket was worn",
        "Customer rang the store; bought three weeks ago, has the receipt.",
        CaseStatus.ACKNOWLEDGED, ("Tom Price", "tom.price@example.com", "07700 900456"),
    ),
    ComplaintSpec(
        "no-receipt", 2, 9, CaseOrigin.LETTER, 6, 10, "returns-desk", BILLING, Severity.NORMAL,
        "Refused a refund without a receipt",
        "Letter from a customer refused a refund for a gift; paid by card, so the sale can be found.",
        CaseStatus.IN_PROGRESS, ("Joan Hughes", "joan.hughes@example.com", ""), hand_to=6,
    ),
    ComplaintSpec(
        "wet-floor", 1, 5, CaseOrigin.IN_PERSON, 3, 17, "store-welcome", OTHER, Severity.URGENT,
        "Customer slipped on the wet floor by the entrance",
        "No warning sign after the floor was mopped at closing time; customer bruised her wrist.",
        CaseStatus.IN_PROGRESS, ("Amira Khan", "amira.khan@example.com", "07700 900789"), hand_to=1,
    ),
    ComplaintSpec(
        "fitting-room-access", 1, 4, CaseOrigin.IN_PERSON, 12, 13, "fitting-rooms", ATTITUDE, Severity.NORMAL,
        "Wheelchair user turned away from the fitting rooms",
        "The accessible fitting room was used as a store room.",
        CaseStatus.RESOLVED, ("Dan Okafor", "dan.okafor@example.com", ""),
    ),
    ComplaintSpec(
        "parcel-in-rain", 0, 7, CaseOrigin.SOCIAL, 20, 9, "home-delivery", DELIVERY, Severity.NORMAL,
        "Parcel left on the doorstep in the rain",
        "Posted a photo on social media of a soaked box.",
        CaseStatus.CLOSED,
    ),
    ComplaintSpec(
        "rude-returns", 2, 6, CaseOrigin.PHONE, 25, 16, "returns-desk", ATTITUDE, Severity.HIGH,
        "Customer spoken to rudely at the returns desk",
        "Customer says she was told to 'read the sign' when asking about an exchange.",
        CaseStatus.REOPENED, ("Rita Ahmed", "rita.ahmed@example.com", "07700 900321"), hand_to=1,
    ),
)  # fmt: skip


# "You said, we did": improvements the stores made because of their cases, published from the
# latest resolved case of that category at that store.
@dataclass(frozen=True)
class CaseImprovementSpec:
    site: int
    category: str
    title: str
    closure_note: str
    customer_summary: str


CASE_IMPROVEMENTS = (
    CaseImprovementSpec(
        1, WAITING, "Open a second till when the queue passes five", "Queue rule briefed; till buzzer tested.",
        "You said you waited too long to pay; a second till now opens as soon as five people are queuing.",
    ),
    CaseImprovementSpec(
        2, ATTITUDE, "Greet every customer within a minute of arriving", "Welcome standard re-briefed to both teams.",
        "You said nobody noticed you; every colleague on the floor now greets customers within a minute.",
    ),
    CaseImprovementSpec(
        0, WAITING, "Call customers back instead of holding", "Call-back offered after two minutes on hold.",
        "You said you were left on hold; when the wait passes two minutes we now offer to call you back.",
    ),
)  # fmt: skip
