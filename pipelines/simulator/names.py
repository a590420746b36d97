"""Word pools for realistic, deterministic names."""

FIRST_NAMES = (
    "Agnes", "Aidan", "Aoife", "Beatrice", "Berengar", "Bianca", "Carlos", "Charlotte", "Chen", "Ciara",
    "Dara", "David", "Dmitri", "Elena", "Emeka", "Emma", "Fatima", "Finn", "Grace", "Hannah",
    "Hiroshi", "Ines", "Ivan", "Jamal", "Jana", "Jose", "Karin", "Kofi", "Lars", "Leila",
    "Liam", "Lucia", "Marta", "Mateo", "Mei", "Milan", "Nadia", "Niamh", "Noah", "Olga",
    "Omar", "Oscar", "Priya", "Rafael", "Rania", "Rosa", "Sanjay", "Sara", "Sean", "Sofia",
    "Tariq", "Tomas", "Ulla", "Valentina", "Victor", "Wei", "Yara", "Yusuf", "Zainab", "Zoltan",
)
LAST_NAMES = (
    "Ahmed", "Andersen", "Bauer", "Brennan", "Byrne", "Costa", "Dansk", "Dubois", "Duarte", "Fischer",
    "Garcia", "Gupta", "Hesse", "Hughes", "Ivanova", "Jensen", "Kaur", "Kelly", "Kim", "Kowalski",
    "Larsen", "Lopez", "Martel", "Moreau", "Murphy", "Nakamura", "Novak", "Nowak", "Okafor", "Olsen",
    "Perez", "Petrov", "Poitou", "Quinn", "Rossi", "Ryan", "Santos", "Schleswig", "Schmidt", "Silva",
    "Singh", "Smith", "Sousa", "Tanaka", "Walsh", "Wang", "Weber", "Wilson", "Yilmaz", "Zhang",
)
DEPARTMENTS = ("Support", "Sales", "Engineering", "Finance", "Operations", "Marketing", "HR", "Legal", "Warehouse", "Customer Success")
POSITIONS = ("Account Manager", "Engineer", "Analyst", "Team Lead", "Director", "Associate", "Specialist", "Coordinator", "Technician", "Consultant")
LOCALES = ("en", "en", "en", "en", "de", "fr", "es", "pt", "it", "nl", "ja", "pl")
DOMAINS = ("samplelearningco.com", "example.org", "yourdomain.com")

COURSE_TOPICS = (
    "Information Security Awareness", "Anti-Bribery and Corruption", "GDPR Essentials", "Workplace Health and Safety",
    "Fire Safety", "Manual Handling", "Code of Conduct", "Anti-Money Laundering", "Diversity and Inclusion",
    "Harassment Prevention", "Data Protection for Managers", "First Aid Basics", "Export Controls",
    "Product Fundamentals", "Advanced Product Configuration", "Sales Methodology", "Negotiation Skills",
    "Customer Service Excellence", "Leadership Essentials", "Coaching Conversations", "Time Management",
    "Project Management Basics", "Agile Foundations", "Intro to SQL", "Excel for Analysts", "Presentation Skills",
    "Emotional Intelligence Workshop", "Onboarding: Week One", "Forklift Operation", "Food Hygiene",
    "Cyber Phishing Drill", "Modern Slavery Awareness", "Conflict of Interest", "Environmental Awareness",
    "Accessibility in Practice", "Remote Working", "Performance Reviews", "Hiring Without Bias",
    "Financial Controls", "Hazardous Substances",
)
COURSE_SUFFIXES = ("", " (Refresher)", " for Managers", " Level 2", " - EMEA", " - Americas", " Advanced", " Essentials")
GROUP_NAMES = ("Engineering", "Sales", "Support", "Finance", "Operations", "Marketing", "HR", "Legal", "Warehouse",
               "Dublin", "Philadelphia", "Belgrade", "Toronto", "Vancouver", "Berlin", "Madrid", "Tokyo",
               "New Hires", "Managers", "Contractors", "Partners", "Field Staff", "Drivers", "Executives")
KEYWORDS = ("compliance", "mandatory", "safety", "security", "sales", "leadership", "onboarding", "product", "skills")
