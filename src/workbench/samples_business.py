"""Seeded international B2B/B2C customer records with duplicates and ground truth.

What it is for: testing whether matching *generalises* beyond the US person data of
``workbench.samples``. The records look like a CRM account export from a company that sells in
twelve countries (US, GB, DE, FR, ES, IT, NL, JP, BR, IN, AU, CA): about 60 % organisations and
40 % people, with the column names, formats and gaps such an export has. It is not a model of
the world: the city list is short, phone numbers are valid-looking but random, names come from
Faker's locale tables, and the rates of each variation are guesses that make a hard but fair test.

What is hard in it:

* Company names vary the way they do between systems: legal form abbreviated, spelled out or
  dropped ("GmbH" / "Gesellschaft mit beschränkter Haftung" / none, "K.K." / "Kabushiki Kaisha"
  in front), "&" vs "and"/"und"/"et", a leading "The" dropped, abbreviations ("Intl", "Corp",
  "Ets", "Cie"), case changes, punctuation, accents dropped or transliterated ("Müller" /
  "Muller" / "Mueller"), typos.
* People: typos, first/last swapped (family-name-first), initials, a second surname dropped
  (ES/BR), the e-mail moved to another provider, addresses re-ordered or abbreviated, moves.
* Every record mixes formats: national phone numbers without a country code next to "+CC"
  international ones, country as ISO code or as (local) name, postcodes with and without their
  space or dash, exonyms ("München" / "Munich"), dates in half a dozen formats, missing fields.
* **Branches are different entities.** A company group may have 2-4 branch sites that share the
  company name, website, VAT number and e-mail domain but have their own address and phone. The
  truth entity is the *branch site* (the thing you ship to and invoice), not the company group,
  so merging on name + website alone over-merges. This is a deliberate choice: it mirrors the
  account/site split of most CRMs and it punishes matchers that ignore addresses.
* Look-alikes that are not duplicates: unrelated companies with the same or a similar name in
  other cities or countries (with their own website), and people with the same name in different
  countries.

About 30 % of entities have 2-5 records; 1,500 entities give roughly 2,400 records in about
two seconds. Output is deterministic for a seed (for a given Faker version). Missing
values are ``None``, never empty strings. The truth frame (record_id, entity_id) is separate so the
product under test never sees it.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache

import pandas as pd
import phonenumbers as pn
from faker import Faker
from phonenumbers import PhoneNumberFormat as PNF
from phonenumbers import PhoneNumberType as PNT

__all__ = ["COUNTRY_CODES", "RECORD_COLUMNS", "generate_business_customers"]

RECORD_COLUMNS = [
    "record_id", "customer_type", "company_name", "contact_first", "contact_last", "email",
    "phone", "address_line", "postcode", "city", "country", "vat_number", "website", "created_at",
]

_FIRST_DAY = date(2012, 1, 1)
_LAST_DAY = date(2026, 6, 30)  # fixed "today": output must not age


# --------------------------------------------------------------------------------------------
# Country tables
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Country:
    code: str
    locale: str
    weight: float
    names: tuple[str, ...]               # ISO2, ISO3, English name, other spellings
    cities: tuple[tuple[str, str, str, str], ...]  # city, region, postcode pattern, exonym
    templates: tuple[str, ...]           # company name cores
    words: tuple[str, ...]               # trade words for {W}
    legal: tuple[tuple[str, ...], ...]   # legal forms, each: canonical spelling, variants...
    legal_weights: tuple[float, ...]
    and_word: str
    sons: str
    address: tuple[str, str]             # usual and alternative one-line address order
    tld: str
    mail: tuple[str, ...]
    branch: str                          # "{city}" branch label
    vat: str | None = None               # VAT pattern: '#' digit, '@' letter
    date_fmt: str = "%d/%m/%Y"


_EN_WORDS = ("Holdings", "Trading", "Logistics", "Consulting", "Engineering", "Foods",
             "Technologies", "Industries", "Services", "Partners", "Manufacturing", "Solutions",
             "Systems", "Supplies", "Construction", "Design", "Media", "Associates", "Electric",
             "Pharma", "Textiles", "Motors", "Capital", "Software")
_EN_TEMPLATES = ("{S} {W}", "{S} {W}", "{B} {W}", "{S} {&} {S2}", "{S} {&} {Sons}",
                 "The {Adj} {Noun}", "{A} {W}", "{B} International", "{S} Brothers",
                 "{B} {W} International", "{S} Manufacturing Company")
_BRANDS = ("Atlas", "Orion", "Phoenix", "Apex", "Nova", "Delta", "Vertex", "Zenith", "Summit",
           "Polaris", "Aurora", "Helios", "Titan", "Vega", "Astra", "Nexus", "Omega", "Meridian",
           "Pioneer", "Horizon", "Acme", "Sterling", "Evergreen", "Keystone", "Lumen", "Cobalt")
_ADJ = ("Blue", "Golden", "Red", "Green", "Silver", "Old", "Little", "Royal", "Happy", "Hungry",
        "Crooked", "Copper", "Black", "White", "Lucky", "Wild")
_NOUN = ("Cafe", "Spoon", "Lion", "Anchor", "Oak", "Kettle", "Bakery", "Garage", "Bookshop",
         "Fox", "Rose", "Bicycle Shop", "Bistro", "Barber", "Print Shop", "Pantry")

_COUNTRIES: tuple[_Country, ...] = (
    _Country(
        "US", "en_US", 0.18, ("US", "USA", "United States", "United States of America", "U.S.A."),
        (("New York", "NY", "100##", ""), ("Chicago", "IL", "606##", ""),
         ("Houston", "TX", "770##", ""), ("Seattle", "WA", "981##", ""),
         ("Boston", "MA", "021##", ""), ("Denver", "CO", "802##", ""),
         ("Atlanta", "GA", "303##", ""), ("Springfield", "IL", "627##", ""),
         ("Springfield", "MA", "011##", ""), ("Portland", "OR", "972##", ""),
         ("Portland", "ME", "041##", ""), ("San Diego", "CA", "921##", "")),
        _EN_TEMPLATES, _EN_WORDS,
        (("Inc.", "Inc", "Incorporated"), ("LLC", "L.L.C.", "Limited Liability Company"),
         ("Corp.", "Corporation", "Corp"), ("Co.", "Company")),
        (0.45, 0.3, 0.15, 0.1), "and", "Sons",
        ("{num} {street}, {city}, {region} {pc}", "{num} {street}, {pc} {city} {region}"),
        ".com", ("gmail.com", "yahoo.com", "outlook.com", "aol.com", "icloud.com"),
        "{city} Office", date_fmt="%m/%d/%Y"),
    _Country(
        "GB", "en_GB", 0.12, ("GB", "GBR", "United Kingdom", "UK", "Great Britain", "England"),
        (("London", "", "EC1A #@@", ""), ("London", "", "SW1P #@@", ""),
         ("Manchester", "", "M1 #@@", ""), ("Birmingham", "", "B2 #@@", ""),
         ("Leeds", "", "LS1 #@@", ""), ("Glasgow", "", "G2 #@@", ""),
         ("Bristol", "", "BS1 #@@", ""), ("Edinburgh", "", "EH2 #@@", ""),
         ("Cambridge", "", "CB2 #@@", "")),
        _EN_TEMPLATES, _EN_WORDS,
        (("Ltd", "Ltd.", "Limited"), ("PLC", "plc", "Public Limited Company"), ("LLP",)),
        (0.75, 0.15, 0.1), "and", "Sons",
        ("{num} {street}, {city}, {pc}", "{num} {street}, {pc} {city}"),
        ".co.uk", ("btinternet.com", "hotmail.co.uk", "yahoo.co.uk", "gmail.com", "sky.com"),
        "{city} Branch", vat="GB#########"),
    _Country(
        "DE", "de_DE", 0.12, ("DE", "DEU", "Germany", "Deutschland", "GERMANY"),
        (("Berlin", "", "10###", ""), ("München", "", "80###", "Munich"),
         ("Hamburg", "", "20###", ""), ("Köln", "", "50###", "Cologne"),
         ("Frankfurt am Main", "", "60###", "Frankfurt"), ("Stuttgart", "", "70###", ""),
         ("Düsseldorf", "", "40###", "Duesseldorf"), ("Leipzig", "", "04###", ""),
         ("Nürnberg", "", "90###", "Nuremberg")),
        ("{S} {W}", "{S} {W}", "{B} {W}", "{S} {&} {S2}", "{S} {&} {Sons}", "Autohaus {S}",
         "Bäckerei {S}", "{A} {W}", "{S} Gebrüder"),
        ("Maschinenbau", "Logistik", "Bau", "Elektrotechnik", "Handel", "Immobilien",
         "Metallbau", "Software", "Beratung", "Druckerei", "Haustechnik", "Holzbau", "Transporte",
         "Steuerberatung", "Feinkost"),
        (("GmbH", "Gesellschaft mit beschränkter Haftung", "G.m.b.H.", "Gmbh"),
         ("AG", "Aktiengesellschaft"), ("GmbH & Co. KG", "GmbH & Co KG", "GmbH u. Co. KG"),
         ("e.K.", "e. K.", "eingetragener Kaufmann")),
        (0.6, 0.12, 0.18, 0.1), "und", "Söhne",
        ("{street} {num}, {pc} {city}", "{pc} {city}, {street} {num}"),
        ".de", ("web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de"),
        "Niederlassung {city}", vat="DE#########", date_fmt="%d.%m.%Y"),
    _Country(
        "FR", "fr_FR", 0.09, ("FR", "FRA", "France", "FRANCE", "République française"),
        (("Paris", "", "750##", ""), ("Lyon", "", "6900#", ""), ("Marseille", "", "1300#", ""),
         ("Toulouse", "", "3100#", ""), ("Bordeaux", "", "3300#", ""), ("Lille", "", "5900#", ""),
         ("Nantes", "", "4400#", ""), ("Strasbourg", "", "6700#", "")),
        ("{S} {W}", "Établissements {S}", "Société Générale de {W}", "{S} {&} {Sons}",
         "{B} {W}", "Compagnie {S}", "{S} {&} {S2}", "Société {S}", "{A} {W}"),
        ("Transports", "Boulangerie", "Conseil", "Immobilier", "Distribution", "Bâtiment",
         "Électricité", "Informatique", "Industries", "Assurances", "Négoce", "Télécom"),
        (("S.A.", "SA", "Société Anonyme"), ("SARL", "S.A.R.L.", "Sarl",
                                             "Société à responsabilité limitée"),
         ("SAS", "S.A.S.", "Société par actions simplifiée")),
        (0.3, 0.4, 0.3), "et", "Fils",
        ("{num} {street}, {pc} {city}", "{num} {street}, {city} {pc}"),
        ".fr", ("orange.fr", "free.fr", "laposte.net", "gmail.com", "sfr.fr"),
        "Agence de {city}", vat="FR###########"),
    _Country(
        "ES", "es_ES", 0.07, ("ES", "ESP", "Spain", "España", "Espana"),
        (("Madrid", "", "280##", ""), ("Barcelona", "", "080##", ""),
         ("Valencia", "", "460##", ""), ("Sevilla", "", "410##", "Seville"),
         ("Bilbao", "", "480##", ""), ("Málaga", "", "290##", "Malaga"),
         ("Zaragoza", "", "500##", "")),
        ("{S} {W}", "Hijos de {S}", "{B} {W}", "{S} {&} {S2}", "{W} {S}", "{A} {W}"),
        ("Construcciones", "Transportes", "Distribuciones", "Inmobiliaria", "Consultores",
         "Alimentación", "Ingeniería", "Servicios", "Electricidad", "Comercial"),
        (("S.L.", "SL", "Sociedad Limitada", "S.L.U."), ("S.A.", "SA", "Sociedad Anónima")),
        (0.7, 0.3), "y", "Hijos",
        ("{street}, {num}, {pc} {city}", "{street} {num}, {city} {pc}"),
        ".es", ("telefonica.net", "hotmail.es", "gmail.com", "yahoo.es"),
        "Sucursal {city}", vat="ES@########"),
    _Country(
        "IT", "it_IT", 0.07, ("IT", "ITA", "Italy", "Italia"),
        (("Roma", "RM", "001##", "Rome"), ("Milano", "MI", "201##", "Milan"),
         ("Napoli", "NA", "801##", "Naples"), ("Torino", "TO", "101##", "Turin"),
         ("Bologna", "BO", "401##", ""), ("Firenze", "FI", "501##", "Florence"),
         ("Venezia", "VE", "301##", "Venice")),
        ("{S} {W}", "{S} {&} {Sons}", "{B} {W}", "{S} {&} {S2}", "{W} {S}", "{A} {W}"),
        ("Costruzioni", "Trasporti", "Meccanica", "Alimentari", "Arredamenti", "Impianti",
         "Tessile", "Servizi", "Elettronica", "Ceramiche"),
        (("S.r.l.", "Srl", "SRL", "Società a responsabilità limitata"),
         ("S.p.A.", "SpA", "Società per azioni"), ("S.n.c.", "Snc")),
        (0.65, 0.25, 0.1), "e", "Figli",
        ("{street} {num}, {pc} {city} {region}", "{street}, {num} - {pc} {city}"),
        ".it", ("libero.it", "virgilio.it", "gmail.com", "alice.it", "tiscali.it"),
        "Filiale di {city}", vat="IT###########"),
    _Country(
        "NL", "nl_NL", 0.06, ("NL", "NLD", "Netherlands", "Nederland", "The Netherlands",
                              "Holland"),
        (("Amsterdam", "", "10## @@", ""), ("Rotterdam", "", "30## @@", ""),
         ("Den Haag", "", "25## @@", "The Hague"), ("Utrecht", "", "35## @@", ""),
         ("Eindhoven", "", "56## @@", ""), ("Groningen", "", "97## @@", "")),
        ("{S} {W}", "{B} {W}", "{S} {&} {Sons}", "{S} {&} {S2}", "{W} {S}", "{A} {W}"),
        ("Bouw", "Logistiek", "Techniek", "Installatietechniek", "Handelsonderneming", "Advies",
         "Transport", "Groothandel", "Automatisering"),
        (("B.V.", "BV", "Besloten Vennootschap"), ("N.V.", "NV", "Naamloze Vennootschap"),
         ("V.O.F.", "VOF")),
        (0.8, 0.1, 0.1), "en", "Zonen",
        ("{street} {num}, {pc} {city}", "{street} {num}, {city} {pc}"),
        ".nl", ("ziggo.nl", "kpnmail.nl", "gmail.com", "hotmail.nl", "xs4all.nl"),
        "Vestiging {city}", vat="NL#########B01", date_fmt="%d-%m-%Y"),
    _Country(
        "JP", "ja_JP", 0.06, ("JP", "JPN", "Japan", "JAPAN", "Nippon"),
        (("Tokyo", "Shinjuku-ku", "160-####", ""), ("Tokyo", "Minato-ku", "105-####", ""),
         ("Tokyo", "Chiyoda-ku", "100-####", ""), ("Osaka", "Kita-ku", "530-####", ""),
         ("Yokohama", "Naka-ku", "231-####", ""), ("Nagoya", "Naka-ku", "460-####", ""),
         ("Kyoto", "Shimogyo-ku", "600-####", ""), ("Fukuoka", "Hakata-ku", "812-####", ""),
         ("Sapporo", "Chuo-ku", "060-####", "")),
        ("{S} {W}", "{S} {W}", "{B} {W}", "{A} {W}", "{S} {W} International"),
        ("Trading", "Shoji", "Kogyo", "Seisakusho", "Denki", "Sangyo", "Electronics", "Foods",
         "Kensetsu", "Logistics"),
        (("K.K.", "Kabushiki Kaisha", "KK", "Co., Ltd.", "Co. Ltd"), ("G.K.", "Godo Kaisha",
                                                                      "LLC")),
        (0.85, 0.15), "and", "",
        ("{num} {street}, {region}, {city} {pc}", "{pc} {city} {region} {street} {num}"),
        ".co.jp", ("yahoo.co.jp", "docomo.ne.jp", "gmail.com", "ezweb.ne.jp"),
        "{city} Branch", date_fmt="%Y/%m/%d"),
    _Country(
        "BR", "pt_BR", 0.06, ("BR", "BRA", "Brazil", "Brasil"),
        (("São Paulo", "SP", "01###-###", "Sao Paulo"), ("Rio de Janeiro", "RJ", "20###-###", ""),
         ("Belo Horizonte", "MG", "30###-###", ""), ("Curitiba", "PR", "80###-###", ""),
         ("Porto Alegre", "RS", "90###-###", ""), ("Salvador", "BA", "40###-###", ""),
         ("Brasília", "DF", "70###-###", "Brasilia")),
        ("{S} {W}", "{B} {W}", "{S} {&} {Sons}", "{W} {S}", "{S} {&} {S2}", "{A} {W}"),
        ("Comércio", "Construções", "Transportes", "Alimentos", "Engenharia", "Serviços",
         "Distribuidora", "Indústria", "Informática", "Materiais Elétricos"),
        (("Ltda.", "Ltda", "Limitada"), ("S.A.", "SA", "S/A"), ("ME", "Microempresa"),
         ("EIRELI",)),
        (0.6, 0.2, 0.12, 0.08), "e", "Filhos",
        ("{street}, {num}, {city} - {region}, {pc}", "{street} {num} - {pc} {city}/{region}"),
        ".com.br", ("uol.com.br", "bol.com.br", "gmail.com", "terra.com.br", "hotmail.com"),
        "Filial {city}"),
    _Country(
        "IN", "en_IN", 0.07, ("IN", "IND", "India", "INDIA", "Republic of India"),
        (("Mumbai", "MH", "400###", "Bombay"), ("New Delhi", "DL", "110###", "Delhi"),
         ("Bengaluru", "KA", "560###", "Bangalore"), ("Chennai", "TN", "600###", "Madras"),
         ("Hyderabad", "TG", "500###", ""), ("Pune", "MH", "411###", "Poona"),
         ("Kolkata", "WB", "700###", "Calcutta")),
        ("{S} {W}", "{S} {W}", "{B} {W}", "{S} {&} {Sons}", "{S} Brothers", "{A} {W}",
         "{B} {W} International"),
        ("Textiles", "Exports", "Traders", "Pharma", "Infotech", "Engineering", "Industries",
         "Steels", "Agro Products", "Enterprises", "Technologies"),
        (("Pvt. Ltd.", "Private Limited", "Pvt Ltd", "P. Ltd."), ("Ltd.", "Limited", "Ltd"),
         ("LLP",)),
        (0.7, 0.2, 0.1), "and", "Sons",
        ("{num}, {street}, {city} {pc}", "{num} {street}, {city} - {pc}"),
        ".in", ("rediffmail.com", "yahoo.co.in", "gmail.com", "hotmail.com"),
        "{city} Branch"),
    _Country(
        "AU", "en_AU", 0.05, ("AU", "AUS", "Australia", "Commonwealth of Australia"),
        (("Sydney", "NSW", "20##", ""), ("Melbourne", "VIC", "30##", ""),
         ("Brisbane", "QLD", "40##", ""), ("Perth", "WA", "60##", ""),
         ("Adelaide", "SA", "50##", ""), ("Canberra", "ACT", "26##", "")),
        _EN_TEMPLATES, _EN_WORDS,
        (("Pty Ltd", "Pty. Ltd.", "Proprietary Limited", "Pty Limited"), ("Ltd", "Limited")),
        (0.85, 0.15), "and", "Sons",
        ("{num} {street}, {city} {region} {pc}", "{num} {street}, {city}, {region}, {pc}"),
        ".com.au", ("bigpond.com", "optusnet.com.au", "gmail.com", "outlook.com"),
        "{city} Office"),
    _Country(
        "CA", "en_CA", 0.05, ("CA", "CAN", "Canada", "CANADA"),
        (("Toronto", "ON", "M5V #@#", ""), ("Montréal", "QC", "H2X #@#", "Montreal"),
         ("Vancouver", "BC", "V6B #@#", ""), ("Calgary", "AB", "T2P #@#", ""),
         ("Ottawa", "ON", "K1P #@#", ""), ("Québec", "QC", "G1R #@#", "Quebec City")),
        _EN_TEMPLATES, _EN_WORDS,
        (("Inc.", "Inc", "Incorporated"), ("Ltd.", "Limited", "Ltée"), ("Corp.", "Corporation")),
        (0.55, 0.3, 0.15), "and", "Sons",
        ("{num} {street}, {city}, {region} {pc}", "{num} {street}, {city} {region}, {pc}"),
        ".ca", ("rogers.com", "shaw.ca", "gmail.com", "sympatico.ca", "videotron.ca"),
        "{city} Office", date_fmt="%Y-%m-%d"),
)
_BY_CODE = {c.code: c for c in _COUNTRIES}

#: Every spelling of a country used in the ``country`` column, upper-cased, -> ISO 3166 alpha-2.
COUNTRY_CODES: dict[str, str] = {n.upper(): c.code for c in _COUNTRIES for n in c.names}

# Where a person's namesake may live (same-name people in different countries).
_NAMESAKE = {"US": "GB CA AU", "GB": "US AU CA IN", "DE": "US NL", "FR": "CA US", "ES": "US BR",
             "IT": "US BR", "NL": "DE US", "JP": "BR US", "BR": "US ES", "IN": "GB US CA AU",
             "AU": "GB US", "CA": "US GB FR"}

_JP_AREAS = ("Honcho", "Sakaemachi", "Chuo", "Minami", "Kita", "Higashi", "Nishiki", "Motomachi",
             "Midori", "Asahi", "Hikarigaoka", "Kotobuki", "Akasaka", "Marunouchi", "Umeda")

# Word abbreviations used by the "abbr" variation, in both directions.
_ABBR = {"International": ("Intl", "Int'l", "Intl."), "Corporation": ("Corp", "Corp."),
         "Company": ("Co", "Co."), "Manufacturing": ("Mfg", "Mfg."), "Brothers": ("Bros", "Bros."),
         "Technologies": ("Tech", "Techs"), "Services": ("Svcs",), "Industries": ("Inds", "Ind."),
         "Associates": ("Assoc", "Assocs."), "Holdings": ("Hldgs",), "Engineering": ("Eng.",
                                                                                   "Engg"),
         "Trading": ("Trdg",), "Établissements": ("Ets", "Éts"), "Société": ("Sté", "Ste"),
         "Compagnie": ("Cie",), "Construcciones": ("Const.",), "Distribuciones": ("Dist.",),
         "Costruzioni": ("Costr.",), "Comércio": ("Com.",), "Indústria": ("Ind.",),
         "Transportes": ("Transp.",), "Gebrüder": ("Gebr.",), "Enterprises": ("Ent.",),
         "Distribuidora": ("Distrib.",), "Maschinenbau": ("Masch.-Bau",)}
_UNABBR = {a: full for full, abbrs in _ABBR.items() for a in abbrs}

_STREET_ABBR = (("Street", "St"), ("Road", "Rd"), ("Avenue", "Ave"), ("Drive", "Dr"),
                ("Lane", "Ln"), ("Boulevard", "Blvd"), ("Court", "Ct"), ("Place", "Pl"),
                ("Square", "Sq"), ("Crescent", "Cres"), ("Terrace", "Tce"), ("Parkway", "Pkwy"),
                ("Mountains", "Mtns"), ("Point", "Pt"), ("straße", "str."), ("Straße", "Str."),
                ("strasse", "str."), ("rue", "r."), ("avenue", "av."), ("boulevard", "bd"),
                ("chemin", "ch."), ("Calle", "C/"), ("Avenida", "Avda."), ("Plaza", "Pza."),
                ("Viale", "V.le"), ("Via", "V."), ("Piazza", "P.zza"), ("Corso", "C.so"),
                ("Rua", "R."), ("Travessa", "Tv."), ("straat", "str."), ("laan", "ln"),
                ("Marg", "Mg"), ("Nagar", "Ngr"))

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d", "%b %d, %Y",
                 "%d-%b-%Y", "%Y/%m/%d")

_QWERTY = "qwertyuiopasdfghjklzxcvbnm"


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

@cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


def _ascii(s: str, german: bool = False) -> str:
    """Drop accents; ``german`` transliterates umlauts (ü -> ue) as German systems do."""
    if german:
        for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"),
                     ("Ü", "Ue")):
            s = s.replace(a, b)
    s = s.replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", _ascii(s).lower())


_PARTICLES = ("van", "von", "de", "der", "den", "het", "ten", "ter", "da", "das", "dos", "del",
              "di", "du", "le", "la")


def _glue_particles(words: list[str]) -> list[str]:
    """["Bouw", "van", "het", "Veld"] -> ["Bouw", "vanhetVeld"]: particles go with the name."""
    out: list[str] = []
    glue = False
    for w in words:
        if glue:
            out[-1] += w
        else:
            out.append(w)
        glue = w.lower() in _PARTICLES
    return out


def _last_key(last: str) -> str:
    """Surname as used in e-mail addresses: particles kept ("vanberkum"), second surname dropped."""
    return _slug(_glue_particles(last.split())[0])


def _pattern(p: str, r: random.Random) -> str:
    return "".join(r.choice("0123456789") if c == "#" else
                   r.choice("ABDEFGHJLNPQRSTUWXYZ") if c == "@" else c for c in p)


def _typo(s: str, r: random.Random) -> str:
    pos = [i for i, c in enumerate(s) if c.isalpha()][1:]
    if len(pos) < 3:
        return s
    i = r.choice(pos)
    op = r.random()
    if op < 0.3:
        return s[:i] + s[i + 1:]                                  # deletion
    if op < 0.55 and i + 1 < len(s) and s[i + 1].isalpha():
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]                # transposition
    if op < 0.75:
        return s[:i] + s[i] + s[i:]                               # doubled letter
    k = _QWERTY.find(s[i].lower())
    near = _QWERTY[max(k - 1, 0)] if k > 0 and r.random() < 0.5 else _QWERTY[(k + 1) % 26]
    near = near.upper() if s[i].isupper() else near
    return s[:i] + near + s[i + 1:]                               # neighbouring key


def _tidy(s: str | None) -> str | None:
    if s is None:
        return None
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"(,\s*)+,", ",", s)
    s = re.sub(r"\s+,", ",", s).strip(" ,-/")
    return s or None


def _choice_w(r: random.Random, items, weights):
    return r.choices(items, weights=weights, k=1)[0]


# --------------------------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------------------------

@dataclass
class _Site:
    city: tuple[str, str, str, str]
    street: str
    num: str
    pc: str


@dataclass
class _Entity:
    eid: str
    kind: str                        # "company" | "person"
    cc: str
    site: _Site
    phone: pn.PhoneNumber
    created: date
    first: str | None = None         # person, or the company's main contact
    last: str | None = None
    email: str | None = None
    core: str | None = None          # company name without legal form
    has_the: bool = False
    legal: tuple[str, ...] | None = None
    domain: str | None = None
    website: bool = False
    vat: str | None = None
    branch: bool = False
    extra: dict = field(default_factory=dict)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.fakers = {}
        for i, c in enumerate(_COUNTRIES):
            f = _faker(c.locale)
            f.seed_instance(seed * 1009 + i)
            self.fakers[c.code] = f
        self.domains: set[str] = set()
        self.entities: list[_Entity] = []

    # ---- pieces ------------------------------------------------------------------------
    def country(self) -> _Country:
        return _choice_w(self.r, _COUNTRIES, [c.weight for c in _COUNTRIES])

    def surname(self, cc: str) -> str:
        f = self.fakers[cc]
        return f.last_romanized_name() if cc == "JP" else f.last_name()

    def person_name(self, cc: str) -> tuple[str, str]:
        f = self.fakers[cc]
        if cc == "JP":
            return f.first_romanized_name(), f.last_romanized_name()
        first, last = f.first_name(), f.last_name()
        if (cc == "ES" and self.r.random() < 0.7) or (cc == "BR" and self.r.random() < 0.4):
            last = f"{last} {f.last_name()}"                      # two surnames
        return first, last

    def site(self, c: _Country, city=None) -> _Site:
        r = self.r
        city = city or r.choice(c.cities)
        if c.code == "JP":
            street, num = r.choice(_JP_AREAS), f"{r.randint(1, 5)}-{r.randint(1, 30)}-" \
                                                f"{r.randint(1, 20)}"
        else:
            street = self.fakers[c.code].street_name()
            num = str(r.randint(1, 250) if r.random() < 0.85 else r.randint(251, 3000))
            if c.code in ("US", "CA", "AU") and r.random() < 0.15:
                num = f"{num}{r.choice(['', 'A', 'B'])}"
                num = num if r.random() < 0.5 else f"Suite {r.randint(100, 900)}, {num}"
        return _Site(city, street, num, _pattern(city[2], r))

    def phone(self, cc: str, mobile: bool) -> pn.PhoneNumber:
        r = self.r
        ex = pn.example_number_for_type(cc, PNT.MOBILE if mobile else PNT.FIXED_LINE)
        nsn = pn.national_significant_number(ex)
        for attempt in range(60):
            keep = 1 if attempt < 20 else 2 if attempt < 40 else 3
            cand = nsn[:keep] + "".join(r.choice("0123456789") for _ in nsn[keep:])
            p = pn.parse(cand, cc) if cc != "IT" else pn.parse("+39" + cand)
            if pn.is_valid_number(p):
                return p
        return ex

    def created(self) -> date:
        span = (_LAST_DAY - _FIRST_DAY).days - 400
        return _FIRST_DAY + timedelta(days=self.r.randint(0, span))

    def domain(self, core: str, c: _Country, city: str) -> str:
        r = self.r
        words = [w for w in re.split(r"[\s&]+", core) if _slug(w)]
        if words and words[0] == "The":
            words = words[1:]
        words = _glue_particles(words)
        base = "".join(_slug(w) for w in words[:2]) if r.random() < 0.6 else \
            "-".join(_slug(w) for w in words[:2])
        tld = c.tld if r.random() < 0.7 else ".com"
        for extra in ("", "-" + _slug(city), _slug(city), "-" + c.code.lower(), "24", "-group"):
            d = f"{base}{extra}{tld}"
            if d not in self.domains:
                self.domains.add(d)
                return d
        d = f"{base}{r.randint(100, 999)}{tld}"
        self.domains.add(d)
        return d

    def core_name(self, c: _Country) -> tuple[str, bool]:
        r = self.r
        t = r.choice(c.templates)
        sub = {"{S}": self.surname(c.code), "{S2}": self.surname(c.code),
               "{W}": r.choice(c.words), "{B}": r.choice(_BRANDS), "{&}": "&",
               "{Sons}": c.sons or "Sons", "{Adj}": r.choice(_ADJ), "{Noun}": r.choice(_NOUN),
               "{A}": "".join(r.choice("ABCDEFGHIKLMNPRSTVW") for _ in range(r.randint(2, 4)))}
        for k, v in sub.items():
            t = t.replace(k, v)
        if c.code in ("US", "GB", "AU", "CA", "IN") and "International" not in t \
                and r.random() < 0.06:
            t += " International"
        t = re.sub(r"\bde ([AEIOUÉÈÂ])", r"d'\1", t)          # "de Électricité" -> "d'Électricité"
        has_the = t.startswith("The ")
        if has_the:
            t = t[4:]
        elif c.code in ("US", "GB") and r.random() < 0.05:
            has_the = True
        return t, has_the

    def contact_email(self, first: str, last: str, domain: str) -> str:
        f, la = _slug(first), _last_key(last)
        local = _choice_w(self.r, [f"{f}.{la}", f"{f[0]}.{la}", f"{f[0]}{la}", f"{f}"],
                          [0.55, 0.2, 0.15, 0.1])
        return f"{local}@{domain}"

    def person_email(self, first: str, last: str, c: _Country) -> str:
        r = self.r
        f, la = _slug(first), _last_key(last)
        local = r.choice([f"{f}.{la}", f"{f}{la}", f"{f[0]}.{la}", f"{f}_{la}", f"{f}{la[0]}",
                          f"{la}.{f}"])
        if r.random() < 0.35:
            local += str(r.choice([r.randint(1, 99), r.randint(1950, 2005)]))
        return f"{local}@{r.choice(c.mail)}"

    # ---- entities ----------------------------------------------------------------------
    def _eid(self) -> str:
        return f"ENT-{len(self.entities) + 1:05d}"

    def person(self) -> None:
        r = self.r
        namesake = None
        people = [e for e in self.entities if e.kind == "person"]
        if people and r.random() < 0.08:
            namesake = r.choice(people)
            c = _BY_CODE[r.choice(_NAMESAKE[namesake.cc].split())]
            first, last = namesake.first, namesake.last
        else:
            c = self.country()
            first, last = self.person_name(c.code)
        e = _Entity(self._eid(), "person", c.code, self.site(c),
                    self.phone(c.code, mobile=r.random() < 0.65), self.created(), first, last)
        e.email = self.person_email(first, last, c) if r.random() < 0.9 else None
        self.entities.append(e)

    def company_group(self, remaining: int) -> None:
        r = self.r
        companies = [e for e in self.entities if e.kind == "company" and not e.branch]
        if companies and r.random() < 0.07:          # unrelated look-alike of an earlier company
            other = r.choice(companies)
            c = _BY_CODE[other.cc] if r.random() < 0.7 else self.country()
            core, has_the = other.core, other.has_the
            if r.random() < 0.4 and len(c.words) and " " in core:
                core = core.rsplit(" ", 1)[0] + " " + r.choice(c.words)
            cities = [x for x in c.cities if c.code != other.cc or x[0] != other.site.city[0]]
            sites = [self.site(c, r.choice(cities))]
        else:
            c = self.country()
            core, has_the = self.core_name(c)
            n = r.choice([2, 2, 2, 3, 3, 4]) if r.random() < 0.09 else 1
            n = max(1, min(n, remaining))
            if n == 1:
                sites = [self.site(c)]
            else:                                     # distinct branch sites
                pool = list(c.cities)
                r.shuffle(pool)
                sites = [self.site(c, pool[i] if r.random() < 0.7 else pool[0])
                         for i in range(n)]
                sites = [s for i, s in enumerate(sites)
                         if all((s.street, s.city[0]) != (t.street, t.city[0])
                                for t in sites[:i])]
        legal = None
        if not (has_the and r.random() < 0.5) and r.random() < 0.88:
            legal = _choice_w(r, c.legal, c.legal_weights)
        domain = self.domain(core, c, sites[0].city[0])
        website = r.random() < 0.85
        vat = _pattern(c.vat, r) if c.vat and r.random() < 0.55 else None
        for s in sites:
            e = _Entity(self._eid(), "company", c.code, s, self.phone(c.code, mobile=False),
                        self.created(), core=core, has_the=has_the, legal=legal, domain=domain,
                        website=website, vat=vat, branch=len(sites) > 1)
            if r.random() < 0.55:
                e.first, e.last = self.person_name(c.code)
            if e.first and r.random() < 0.6:
                e.email = self.contact_email(e.first, e.last, domain)
            else:
                generic = ["info", "contact", "sales", "office", "accounts"]
                if e.branch:
                    generic = [_slug(s.city[0])] * 3 + generic
                e.email = f"{r.choice(generic)}@{domain}"
            self.entities.append(e)


# --------------------------------------------------------------------------------------------
# Rendering records
# --------------------------------------------------------------------------------------------

def _fmt_phone(p: pn.PhoneNumber, r: random.Random) -> str:
    style = _choice_w(r, ["nat", "intl", "e164", "00", "digits"], [0.4, 0.33, 0.1, 0.07, 0.1])
    if style == "nat":
        return pn.format_number(p, PNF.NATIONAL)
    if style == "intl":
        return pn.format_number(p, PNF.INTERNATIONAL)
    if style == "e164":
        return pn.format_number(p, PNF.E164)
    if style == "00":
        return "00" + pn.format_number(p, PNF.INTERNATIONAL)[1:]
    return re.sub(r"\D", "", pn.format_number(p, PNF.NATIONAL))


def _fmt_country(c: _Country, r: random.Random) -> str:
    x = r.random()
    if x < 0.45:
        return c.names[0]
    if x < 0.75:
        return c.names[2]
    if x < 0.8:
        return c.names[2].upper()
    return r.choice(c.names)


def _fmt_date(d: date, c: _Country, r: random.Random) -> str:
    x = r.random()
    if x < 0.35:
        return d.isoformat()
    if x < 0.5:
        t = datetime(d.year, d.month, d.day, r.randint(7, 19), r.randint(0, 59), r.randint(0, 59))
        return t.strftime("%Y-%m-%dT%H:%M:%SZ" if r.random() < 0.5 else "%Y-%m-%d %H:%M:%S")
    if x < 0.8:
        return d.strftime(c.date_fmt)
    return d.strftime(r.choice(_DATE_FORMATS))


def _fmt_website(domain: str, r: random.Random) -> str:
    return _choice_w(r, [f"www.{domain}", f"https://www.{domain}/", f"http://{domain}", domain,
                         f"https://{domain}/", f"https://{domain}", f"WWW.{domain.upper()}",
                         f"http://www.{domain}"],
                     [0.3, 0.15, 0.08, 0.15, 0.12, 0.1, 0.03, 0.07])


def _fmt_vat(v: str, r: random.Random, vary: bool) -> str:
    if not vary:
        return v
    x = r.random()
    if x < 0.35:
        return v[:2] + " " + " ".join(v[i:i + 3] for i in range(2, len(v), 3))
    if x < 0.65:
        return v[2:]
    if x < 0.85:
        return v.lower()
    return v[:2] + "-" + v[2:]


def _fmt_pc(pc: str, cc: str, r: random.Random) -> str:
    if cc in ("GB", "NL", "CA") and r.random() < 0.5:
        return pc.replace(" ", "")
    if cc in ("JP", "BR") and r.random() < 0.4:
        return pc.replace("-", "")
    if cc in ("GB", "CA", "NL") and r.random() < 0.1:
        return pc.lower()
    return pc


def _abbr_street(s: str) -> str:
    for full, short in _STREET_ABBR:
        if full.endswith("aße") or full in ("straat", "laan", "strasse"):
            s = re.sub(full + r"\b", short, s)
        else:
            s = re.sub(rf"\b{re.escape(full)}\b", short, s)
    return s


def _address(c: _Country, s: _Site, flags: set[str], r: random.Random) -> tuple[str, str, str]:
    """(address_line, postcode, city) for a site under the given presentation flags."""
    city = s.city[3] if "exonym" in flags and s.city[3] else s.city[0]
    street = _abbr_street(s.street) if "abbr" in flags else s.street
    pc = _fmt_pc(s.pc, c.code, r) if "pc_fmt" in flags else s.pc
    tmpl = c.address[1] if "reorder" in flags else c.address[0]
    line = tmpl.format(num=s.num, street=street, city=city, region=s.city[1],
                       pc="" if "drop_pc" in flags else pc)
    if "upper" in flags:
        line = line.upper()
    if "ascii" in flags:
        line, city = _ascii(line), _ascii(city)
    return _tidy(line), pc, city


def _company_name(e: _Entity, c: _Country, ops: set[str], r: random.Random) -> str:
    core = e.core
    if "abbr" in ops:
        words = core.split(" ")
        hits = [i for i, w in enumerate(words) if w in _ABBR or w in _UNABBR]
        for i in hits:
            w = words[i]
            words[i] = r.choice(_ABBR[w]) if w in _ABBR else _UNABBR[w]
        core = " ".join(words)
    if "amp" in ops:
        core = core.replace(" & ", " " + (c.and_word if r.random() < 0.8 else "+") + " ")
    the = e.has_the and "the" not in ops
    legal = None
    if e.legal:
        legal = e.legal[0]
        if "legal" in ops:
            legal = None if r.random() < 0.35 else r.choice(e.legal)
        elif "abbr" in ops:
            legal = {"Corporation": "Corp.", "Company": "Co.", "Limited": "Ltd"}.get(legal, legal)
    if "typo" in ops:
        core = _typo(core, r)
    if the:
        core = "The " + core
    if legal:
        if legal in ("Kabushiki Kaisha", "K.K.") and "legal" in ops and r.random() < 0.5:
            name = f"{legal} {core}"
        elif c.code in ("US", "CA", "GB", "AU") and r.random() < 0.3 \
                or legal.startswith("Co.,"):
            name = f"{core}, {legal}"
        else:
            name = f"{core} {legal}"
    else:
        name = core
    if "branch" in ops:
        label = c.branch.format(city=e.site.city[0])
        name = f"{name} - {label}" if r.random() < 0.6 else f"{name} ({e.site.city[0]})"
    if "punct" in ops:
        name = re.sub(r"[.,]", "", name)
    if "ascii" in ops:
        name = _ascii(name, german=c.code == "DE" and r.random() < 0.5)
    if "case" in ops:
        name = _choice_w(r, [name.upper(), name.lower(), name.title()], [0.5, 0.2, 0.3])
    return _tidy(name)


_COMPANY_OPS = {"legal": 3, "amp": 1.5, "the": 1.5, "case": 1.5, "typo": 2, "abbr": 1.5,
                "ascii": 1.5, "punct": 1, "missing": 2, "address": 2, "contact": 1,
                "email_alt": 1, "vat_fmt": 1}
_PERSON_OPS = {"typo": 3, "swap": 1, "initial": 1, "case": 1, "ascii": 1.5, "email_domain": 2,
               "missing": 2, "address": 2, "moved": 0.7, "surname2": 1.5}


def _applicable(e: _Entity, op: str) -> bool:
    if e.kind == "company":
        name = e.core or ""
        return {"amp": " & " in name, "the": e.has_the, "legal": e.legal is not None,
                "abbr": any(w in _ABBR or w in _UNABBR for w in name.split())
                or (e.legal is not None and e.legal[0] in ("Corporation", "Company")),
                "ascii": _ascii(name) != name or (e.legal is not None
                                                  and _ascii(e.legal[0]) != e.legal[0]),
                "vat_fmt": e.vat is not None}.get(op, True)
    return {"ascii": _ascii(f"{e.first}{e.last}") != f"{e.first}{e.last}",
            "surname2": " " in (e.last or ""), "email_domain": e.email is not None}.get(op, True)


def _pick_ops(e: _Entity, r: random.Random) -> set[str]:
    table = _COMPANY_OPS if e.kind == "company" else _PERSON_OPS
    names = [k for k in table if _applicable(e, k)]
    weights = [table[k] for k in names]
    k = _choice_w(r, [1, 2, 3], [0.35, 0.45, 0.2])
    ops: set[str] = set()
    while len(ops) < min(k, len(names)):
        ops.add(_choice_w(r, names, weights))
    return ops


def _render(g: _Gen, e: _Entity, dup: bool) -> dict:
    r = g.r
    c = _BY_CODE[e.cc]
    ops = _pick_ops(e, r) if dup else set()
    site = e.site
    phone = e.phone
    if "moved" in ops:                                   # person moved house (and phone)
        site = g.site(c)
        phone = g.phone(c.code, mobile=r.random() < 0.65) if r.random() < 0.5 else phone
    flags: set[str] = set()
    if r.random() < 0.15:
        flags.add("pc_fmt")
    if "address" in ops:
        flags |= set(r.sample(["abbr", "reorder", "drop_pc", "exonym", "upper", "ascii",
                               "pc_fmt"], k=r.randint(1, 2)))
    elif r.random() < 0.08:
        flags.add("exonym")
    line, pc, city = _address(c, site, flags, r)

    rec = {"customer_type": e.kind, "company_name": None, "contact_first": None,
           "contact_last": None, "email": e.email, "phone": _fmt_phone(phone, r),
           "address_line": line, "postcode": pc, "city": city, "country": _fmt_country(c, r),
           "vat_number": None, "website": None, "created_at": None}

    first, last = e.first, e.last
    if e.kind == "company":
        nops = set(ops)
        if e.branch and r.random() < 0.2:
            nops.add("branch")
        rec["company_name"] = _company_name(e, c, nops, r)
        if "contact" in ops:
            first, last = g.person_name(c.code) if r.random() < 0.6 else (None, None)
        elif first and r.random() < 0.15:
            first, last = None, None
        if "email_alt" in ops:
            rec["email"] = f"{r.choice(['info', 'sales', 'admin', 'billing'])}@{e.domain}"
        if e.website and r.random() < 0.9:
            rec["website"] = _fmt_website(e.domain, r)
        if e.vat and r.random() < (0.6 if dup else 0.85):
            rec["vat_number"] = _fmt_vat(e.vat, r, "vat_fmt" in ops or r.random() < 0.15)
    else:
        if "surname2" in ops:
            last = last.split()[0]
        if "typo" in ops:
            if r.random() < 0.5:
                first = _typo(first, r)
            else:
                last = _typo(last, r)
        if "initial" in ops:
            first = first[0] + "."
        if "ascii" in ops:
            first, last = _ascii(first), _ascii(last)
        if "case" in ops:
            first, last = (first.upper(), last.upper()) if r.random() < 0.6 else \
                (first.lower(), last.lower())
        if "swap" in ops:
            first, last = last, first
        if "email_domain" in ops and e.email:
            local, old = e.email.split("@")
            other = [d for d in (*c.mail, "gmail.com", "outlook.com") if d != old]
            rec["email"] = f"{local}@{r.choice(other)}"
    rec["contact_first"], rec["contact_last"] = first, last

    day = e.created + timedelta(days=r.randint(0, 700) if dup else 0)
    rec["created_at"] = _fmt_date(min(day, _LAST_DAY), c, r)

    # Missing values: a base rate everywhere, more on records given the "missing" variation.
    base = {"email": 0.1, "phone": 0.1, "postcode": 0.06, "address_line": 0.04, "city": 0.03,
            "country": 0.03, "created_at": 0.03}
    for col, p in base.items():
        if r.random() < p:
            rec[col] = None
    if "missing" in ops:
        cols = ["email", "phone", "postcode", "address_line", "country"]
        cols += ["vat_number", "website", "contact_first"] if e.kind == "company" else []
        for col in r.sample(cols, k=r.randint(1, 2)):
            rec[col] = None
            if col == "contact_first":
                rec["contact_last"] = None
    return {k: _tidy(v) if isinstance(v, str) else v for k, v in rec.items()}


def generate_business_customers(n_entities: int = 1500,
                                seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records, truth): records with a unique string key column `record_id`; truth with columns
    record_id, entity_id.

    About 60 % of entities are companies (some of them branch sites of one company group: each
    site is its own entity) and 40 % people, in twelve countries; about 30 % of entities have
    2-5 records. Deterministic for a seed.
    """
    if n_entities < 1:
        raise ValueError("n_entities must be at least 1")
    g = _Gen(seed)
    r = g.r
    while len(g.entities) < n_entities:
        if r.random() < 0.56:
            g.company_group(n_entities - len(g.entities))
        else:
            g.person()
    del g.entities[n_entities:]

    rows: list[dict] = []
    eids: list[str] = []
    for e in g.entities:
        n = _choice_w(r, [2, 3, 4, 5], [0.35, 0.3, 0.2, 0.15]) if r.random() < 0.3 else 1
        for i in range(n):
            rows.append(_render(g, e, dup=i > 0))
            eids.append(e.eid)
    order = list(range(len(rows)))
    r.shuffle(order)
    ids = [f"ACC-{i + 1:06d}" for i in range(len(rows))]
    records = pd.DataFrame([rows[j] for j in order])
    records.insert(0, "record_id", ids)
    records = records[RECORD_COLUMNS].astype(object)
    records = records.where(records.notna(), None)
    truth = pd.DataFrame({"record_id": ids, "entity_id": [eids[j] for j in order]})
    return records, truth
