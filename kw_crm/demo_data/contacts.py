"""Demo data: ~40 contacts of every type with companies, notes and activities (``flask demo``).

Safe to run twice: contacts are keyed by their demo email, and notes/activities are only added
to contacts created in this run."""
import unicodedata
from datetime import timedelta

from sqlalchemy import select

from .. import host
from ..db import session, utcnow
from ..models import Contact
from ..services import activities
from ..services import contacts as service

# (first, last, company, type, status, job title, decision maker)
PEOPLE = [
    ("Jane", "Smith", "Acme Ltd", "customer", "active", "Head of IT", True),
    ("Tom", "Okafor", "Acme Ltd", "customer", "active", "Office Manager", False),
    ("Priya", "Raman", "Northwind Traders", "customer", "prospect", "COO", True),
    ("Lukas", "Becker", "Northwind Traders", "customer", "lead", "IT Lead", False),
    ("Maria", "Gonzalez", "Bluebird Dental", "customer", "active", "Practice Owner", True),
    ("Chen", "Wei", "Harbor Logistics", "customer", "prospect", "CFO", True),
    ("Olivia", "Brown", "Harbor Logistics", "customer", "lead", "Operations", False),
    ("Samuel", "Adeyemi", "Greenleaf Accounting", "customer", "active", "Partner", True),
    ("Hannah", "Müller", "Greenleaf Accounting", "customer", "inactive", "Bookkeeper", False),
    ("Diego", "Silva", "Sunrise Hotels", "customer", "prospect", "GM", True),
    ("Aisha", "Khan", "Sunrise Hotels", "customer", "lead", "Front Office", False),
    ("George", "Wilson", "Wilson & Co Law", "customer", "active", "Managing Partner", True),
    ("Emma", "Johansson", "Fjord Design", "customer", "lead", "Studio Lead", True),
    ("Noah", "Taylor", "Taylor Bakeries", "customer", "active", "Owner", True),
    ("Fatima", "Haddad", "Cedar Clinic", "customer", "prospect", "Administrator", True),
    ("Kenji", "Sato", "Pacific Freight", "customer", "lead", "IT Manager", False),
    ("Rita", "Costa", None, "customer", "lead", "Freelance consultant", False),
    ("Mike", "Doyle", "Doyle Electrical", "contractor", "active", "Electrician", False),
    ("Ines", "Moreau", "Moreau Cabling", "contractor", "active", "Cabling lead", False),
    ("Raj", "Patel", None, "contractor", "active", "Freelance network engineer", False),
    ("Sofia", "Rossi", "Rossi Web", "contractor", "inactive", "Web developer", False),
    ("Ben", "Carter", "Carter Installs", "contractor", "active", "Installer", False),
    ("Yusuf", "Demir", None, "contractor", "lead", "Field technician", False),
    ("Laura", "Kim", "TechSupply Direct", "vendor", "active", "Account Manager", False),
    ("Marco", "Bianchi", "TechSupply Direct", "vendor", "active", "Sales Engineer", False),
    ("Grace", "Lee", "Cloudline Distribution", "vendor", "active", "Channel Manager", False),
    ("Peter", "Novak", "Secure Racks", "vendor", "prospect", "Sales", False),
    ("Anna", "Svensson", "Nordic Licences", "vendor", "active", "Licensing Specialist", False),
    ("Oscar", "Reyes", "PrintPro", "vendor", "inactive", "Rep", False),
    ("Claire", "Dubois", "Channel Partners EU", "partner", "active", "Alliance Manager", True),
    ("Ahmed", "Ali", "Referral Network", "partner", "active", "Founder", True),
    ("Julia", "Weber", "MSP Alliance", "partner", "prospect", "Programme Lead", False),
    ("Daniel", "Murphy", "Murphy Consulting", "partner", "lead", "Consultant", True),
    ("Zoe", "Martin", "Startup Hub", "partner", "active", "Community Lead", False),
    ("Liam", "O'Brien", None, "other", "lead", "Journalist", False),
    ("Nora", "Berg", "City Council", "other", "active", "Procurement", False),
    ("Ethan", "Wright", None, "other", "inactive", "Former employee", False),
    ("Mei", "Lin", "University IT", "other", "prospect", "Researcher", False),
    ("Victor", "Vendor", "Portal Vendors", "vendor", "active", "Vendor portal user", False),
    ("Paula", "Ng", "Acme Ltd", "customer", "prospect", "Finance Director", True),
]

NOTES = [
    "Met at the regional IT summit; interested in managed backup.",
    "Prefers email over phone. Budget cycle starts in Q3.",
    "Asked for references from similar-sized clients.",
]
ACTIVITIES = [("call", "Intro call", -3), ("email", "Send proposal", 2), ("meeting", "On-site walkthrough", 9),
              ("task", "Prepare quote", -1), ("note", "Logged chat from the trade fair", None)]


def _ascii(text: str) -> str:
    """Lower-case ASCII letters, digits and dots, as a mail system would take them: "Müller" is
    "mueller", "O'Brien" is "obrien"."""
    text = text.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text if ch.isalnum() or ch == ".")


def _email(first: str, last: str, company: str | None) -> str:
    """first.last at the company's domain (its whole name, under example.com); people without a
    company use a personal address at example.com."""
    local = _ascii(f"{first}.{last}")
    return f"{local}@{_ascii(company).replace('.', '')}.example.com" if company else f"{local}@example.com"


def seed(admin_id: int) -> list[str]:
    existing = set(session.scalars(select(Contact.email_key)))
    User = host.user_model()
    owners = [u.id for u in session.scalars(host.tenant_users().where(User.active.is_(True), User.role == "ADMIN")
                                            .order_by(User.id))] or [admin_id]
    vendor = session.scalar(host.tenant_users().where(User.role == "VENDOR", User.active.is_(True)).order_by(User.id))
    today = utcnow().date()
    created = 0
    for n, (first, last, company, kind, status, title, decides) in enumerate(PEOPLE):
        email = _email(first, last, company)
        if email.lower() in existing:
            continue
        values = {"first_name": first, "last_name": last, "email": email, "phone": f"+1 555 01{n:02d}",
                  "job_title": title, "type": kind, "status": status, "is_decision_maker": decides,
                  "owner_id": owners[n % len(owners)]}
        if company:
            values["company"] = company
        if vendor is not None and first == "Victor" and kind == "vendor":
            values["vendor_user_id"] = vendor.id
        contact = service.create_contact(values, actor_id=admin_id)
        created += 1
        if n % 2 == 0:
            activities.add_note(contact, NOTES[n % len(NOTES)], actor_id=admin_id)
        if n % 3 == 0:
            kind_, subject, days = ACTIVITIES[n % len(ACTIVITIES)]
            due = today + timedelta(days=days) if days is not None else None
            activity = activities.log_activity(contact, type=kind_, subject=subject, due_date=due,
                                               actor_id=admin_id)
            if n % 4 == 0:
                activities.complete_activity(activity)
    return [f"contacts: {created} created ({len(PEOPLE) - created} already there)"]
